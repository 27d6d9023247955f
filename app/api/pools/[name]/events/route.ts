import { apiRoute } from '@/lib/auth/guard';
import { openPoolEventStream, resumePointOf } from '@/lib/services/pool-feed';

// GET /api/pools/{name}/events — the pool's session transitions as server-sent events, for the
// live pool page (pools.read on the pool; identifiers only with sessions.read on it).
export const GET = apiRoute('pools.read', async (request, principal, context) => {
  const { name } = await context.params;
  return openPoolEventStream(principal, String(name), resumePointOf(request), request.signal);
});
