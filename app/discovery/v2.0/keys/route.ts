import { publicRoute } from '@/lib/auth/guard';
import { publicJwks } from '@/lib/tokens/signing-keys';

export const dynamic = 'force-dynamic';

// GET /discovery/v2.0/keys — the JWKS that verifies Sandpool's access tokens (public keys only)
export const GET = publicRoute('Public signing keys (JWKS) are meant to be public', async () =>
  Response.json({ keys: await publicJwks() }, { headers: { 'cache-control': 'public, max-age=300' } }),
);
