import { publicRoute } from '@/lib/auth/guard';
import { handleTokenRequest } from '@/lib/http/token-endpoint';

// POST /oauth2/v2.0/token — OAuth2 client credentials (public: the client proves itself with its secret)
export const POST = publicRoute('OAuth2 token endpoint: callers authenticate with their client secret', handleTokenRequest);
