import { publicRoute } from '@/lib/auth/guard';
import { handleTokenRequest } from '@/lib/http/token-endpoint';

// POST /{tenant}/oauth2/v2.0/token — the same endpoint under Entra's tenant-qualified path, which
// Azure SDKs build from an authority host and tenant id. Sandpool has one tenant, so any value works.
export const POST = publicRoute('OAuth2 token endpoint: callers authenticate with their client secret', handleTokenRequest);
