import { apiRoute } from '@/lib/auth/guard';
import { deleteSessionFile, fileTargetOf, listSessionFiles, uploadSessionFile } from '@/lib/services/sessions';

// The files in a session's /mnt/data for the portal's console and session page, through the
// engine's data plane with the signed-in person's identity (sessions.execute on the pool).
// Whose files: ?session=<id>, or ?pool=<name>&identifier=<identifier>.

/** GET: the files, every folder down; none (and nothing started) when no session is running. */
export const GET = apiRoute('sessions.execute', async (request, principal) => {
  const target = await fileTargetOf(principal, new URL(request.url).searchParams);
  return Response.json(await listSessionFiles(principal, target), { headers: { 'cache-control': 'no-store' } });
});

/** POST: uploads one file (multipart/form-data, part "file"), streamed to the engine. */
export const POST = apiRoute('sessions.execute', async (request, principal) => {
  const target = await fileTargetOf(principal, new URL(request.url).searchParams);
  return uploadSessionFile(principal, target, request);
});

/** DELETE ?name=<path>: deletes one file. */
export const DELETE = apiRoute('sessions.execute', async (request, principal) => {
  const params = new URL(request.url).searchParams;
  return deleteSessionFile(principal, await fileTargetOf(principal, params), params.get('name'));
});
