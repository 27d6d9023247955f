import { apiRoute } from '@/lib/auth/guard';
import { downloadSessionFile, fileTargetOf } from '@/lib/services/sessions';

// GET ?session=<id>&name=<path>: downloads a file from a session's /mnt/data, streamed from the
// engine's data plane with the signed-in person's identity (sessions.execute on the pool).
export const GET = apiRoute('sessions.execute', async (request, principal) => {
  const params = new URL(request.url).searchParams;
  return downloadSessionFile(principal, await fileTargetOf(principal, params), params.get('name'), request.signal);
});
