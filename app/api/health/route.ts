import { publicRoute } from '@/lib/auth/guard';
import { portalHealth } from '@/lib/services/health';

export const dynamic = 'force-dynamic';

// GET /api/health — liveness for scripts and load balancers (public; reveals no data)
export const GET = publicRoute('Health check for start scripts and load balancers; reveals no data', async () => {
  const health = await portalHealth();
  return Response.json(health, { status: health.status === 'ok' ? 200 : 503 });
});
