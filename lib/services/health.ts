import 'server-only';
import { db } from '../db';

export async function portalHealth(): Promise<{ status: 'ok' | 'degraded'; database: { ok: boolean; error?: string } }> {
  try {
    await db().$queryRaw`SELECT 1`;
    return { status: 'ok', database: { ok: true } };
  } catch (error) {
    return { status: 'degraded', database: { ok: false, error: error instanceof Error ? error.message : String(error) } };
  }
}
