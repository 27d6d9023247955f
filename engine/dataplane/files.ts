// The files of a session (reference §4.2.2–§4.2.5 legacy, §4.3.2 new): `files/upload`,
// `files` and `files/content/{name}` as LangChain, Semantic Kernel, AutoGen and LlamaIndex call
// them, and the `/files` resource of the newer api-versions, over the sandbox's /mnt/data.
// Bytes stream between the HTTP body and the sandbox agent (engine/agent/client.ts), so no file
// is ever held whole in memory; the upload limit is enforced while streaming.
import { finished } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AgentRequestError, AgentUnavailableError, type AgentClient, type AgentFileEntry } from '../agent/client';
import { DATA_PATH } from '../runtime/spec';
import { dataPlaneRoute, DataPlaneError, POOL_PATH, sendFailure, type DataPlaneDeps, type PoolParams } from './context';

/** Azure's limit on an upload (reference §4.8): the file bytes of one request. */
export const MAX_UPLOAD_BYTES = 128 * 1024 * 1024;
/**
 * Multipart boundaries and part headers around the file bytes. A body longer than the limit by
 * more than this cannot fit, so its Content-Length alone earns a 413 before a byte is read.
 */
const MULTIPART_OVERHEAD_BYTES = 1024 * 1024;
const MAX_FILES_PER_UPLOAD = 100;
/** Versions whose clients expect the `{ value: [{ properties: { filename, size } }] }` shapes. */
const LEGACY_API_VERSIONS = new Set(['2024-02-02-preview', '2024-08-02-preview']);
const MAX_NAME_BYTES = 255;
const MAX_PATH_BYTES = 4096;

type FilesQuery = { identifier?: string; path?: string; recursive?: string; 'api-version'?: string };
type FilesRequest = FastifyRequest<{ Params: PoolParams & { name?: string; '*'?: string }; Querystring: FilesQuery }>;

export type FilesOptions = {
  /** The most file bytes one upload request may carry (default MAX_UPLOAD_BYTES). */
  maxUploadBytes?: number;
};

function invalidPath(message: string): DataPlaneError {
  return new DataPlaneError(400, 'InvalidFilePath', message);
}

/**
 * A client's name for something in /mnt/data, as the agent protocol wants it: relative, single
 * '/' between names, no '.' parts. Accepts what clients send (`/mnt/data/x.csv`, `./x.csv`,
 * `a//b`) and refuses `..`, other absolute paths and control characters with a 400.
 */
export function dataPath(raw: string, what: string): string[] {
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw invalidPath(`The ${what} ${JSON.stringify(raw.slice(0, 300))} contains control characters; use printable names.`);
  let rest = raw.replace(/\/+/g, '/');
  if (rest.startsWith('/')) {
    if (rest !== DATA_PATH && !rest.startsWith(`${DATA_PATH}/`)) {
      throw invalidPath(`The ${what} "${raw.slice(0, 300)}" is an absolute path outside ${DATA_PATH}: name files relative to ${DATA_PATH} ("data.csv") or under it ("${DATA_PATH}/data.csv").`);
    }
    rest = rest.slice(DATA_PATH.length);
  }
  const parts = rest.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw invalidPath(`The ${what} "${raw.slice(0, 300)}" contains "..": name files inside ${DATA_PATH} without leaving it.`);
  if (parts.some((part) => Buffer.byteLength(part) > MAX_NAME_BYTES) || Buffer.byteLength(parts.join('/')) > MAX_PATH_BYTES) {
    throw invalidPath(`The ${what} "${raw.slice(0, 300)}…" is too long: at most ${MAX_NAME_BYTES} bytes per name and ${MAX_PATH_BYTES} in all.`);
  }
  return parts;
}

/** `path` (a directory, default /mnt/data itself) joined with `name`; an absolute name stands alone. */
function fileIn(directory: string[], name: string, what: string): string {
  const parts = name.replace(/\/+/g, '/').startsWith('/') ? dataPath(name, what) : [...directory, ...dataPath(name, what)];
  if (parts.length === 0) throw invalidPath(`The ${what} "${name}" names ${DATA_PATH} itself: name a file in it.`);
  return parts.join('/');
}

function directoryOf(request: FilesRequest): string[] {
  return dataPath(request.query.path ?? '', 'path');
}

function parseRecursive(raw: string | undefined): boolean {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new DataPlaneError(400, 'SessionRequestValidationFailed', `recursive must be true or false; got "${raw}".`);
}

function isLegacy(request: FilesRequest): boolean {
  return LEGACY_API_VERSIONS.has(request.query['api-version'] ?? '');
}

/** A `SessionResourceFile` (reference §4.3.2); `directory` is relative to the request's `path`. */
function resourceFile(entry: AgentFileEntry, base: string[]) {
  const parent = entry.path.split('/').slice(0, -1);
  return {
    name: entry.name,
    type: entry.type === 'directory' ? 'Directory' : 'File',
    contentType: entry.contentType,
    sizeInBytes: entry.size,
    lastModifiedAt: entry.lastModified,
    directory: parent.slice(base.length).join('/'),
  };
}

/** The legacy collection envelope (reference §4.2.2), with Newtonsoft-style `$id`s as Azure sends them. */
function legacyCollection(entries: AgentFileEntry[]) {
  let id = 1;
  const nextId = () => String(++id);
  return {
    $id: '1',
    value: entries.map((entry) => ({
      $id: nextId(),
      properties: { $id: nextId(), filename: entry.path, size: entry.size, lastModifiedTime: entry.lastModified, last_modified_time: entry.lastModified },
    })),
  };
}

/** What an agent refusal means for the caller, in Azure's error shape, with how to fix it. */
function fileError(error: AgentRequestError, maxUploadBytes: number): DataPlaneError {
  const reason = error.reason.replace(/\.?$/, '.');
  switch (error.code) {
    case 'NotFound':
      return new DataPlaneError(404, 'FileNotFound', `${reason} List the session's files with GET files to see what is there.`);
    case 'NotAFile':
      return new DataPlaneError(400, 'NotAFile', `${reason} Name a regular file.`);
    case 'NotADirectory':
      return new DataPlaneError(400, 'NotADirectory', `${reason} A name before a "/" must be a directory.`);
    case 'SymbolicLink':
      return new DataPlaneError(400, 'SymbolicLinkNotFollowed', reason);
    case 'Changed':
      return new DataPlaneError(409, 'FileChanged', reason);
    case 'DirectoryNotEmpty':
      return new DataPlaneError(409, 'DirectoryNotEmpty', reason);
    case 'PermissionDenied':
      return new DataPlaneError(409, 'FilePermissionDenied', reason);
    case 'TooLarge':
      return tooLarge(maxUploadBytes);
    case 'StorageFull':
      return new DataPlaneError(507, 'SessionStorageFull', `${reason} (DELETE files/{name} removes a file.)`);
    case 'TooManyFiles':
      return new DataPlaneError(400, 'TooManyFiles', reason);
    case 'BadRequest':
      return invalidPath(reason);
    default:
      throw error; // Internal: an agent bug, logged by the server's error handler
  }
}

function tooLarge(maxUploadBytes: number): DataPlaneError {
  return new DataPlaneError(
    413,
    'RequestEntityTooLarge',
    `The upload is larger than ${formatBytes(maxUploadBytes)}, the most one request may carry. Split the data into smaller files (or compress it) and upload them one by one.`,
  );
}

/**
 * After refusing an upload part-way, reads and drops the rest of its body. Most clients
 * (requests, httpx, aiohttp, fetch) read the answer only once they have sent everything, so a
 * connection closed under them would turn a clear 413 or 507 into a connection reset. A body
 * longer than any valid upload gets its connection closed instead, after the answer.
 */
function dropRestOfBody(request: FastifyRequest, reply: FastifyReply, maxBodyBytes: number): void {
  const raw = request.raw;
  if (Number(request.headers['content-length']) > maxBodyBytes) {
    reply.header('connection', 'close');
    return;
  }
  raw.unpipe();
  let dropped = 0;
  raw.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > maxBodyBytes) raw.socket.destroy();
  });
  raw.resume();
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

export function registerFiles(app: FastifyInstance, deps: DataPlaneDeps, options: FilesOptions = {}): void {
  const maxUploadBytes = options.maxUploadBytes ?? MAX_UPLOAD_BYTES;

  /**
   * The frame of every route (dataPlaneRoute: authorization, the session busy for the whole
   * exchange, a download's body included, its cooldown restarted and the request recorded at
   * the end), with the request's own checks before any session is allocated.
   */
  function route<Input>(name: string, check: (request: FilesRequest) => Input, work: (agent: AgentClient, input: Input, request: FilesRequest, reply: FastifyReply) => Promise<FastifyReply>) {
    return dataPlaneRoute<FilesRequest>(deps, name, async (call) => {
      await call.authorize();
      call.requireIdentifier();
      const input = check(call.request);
      const sessionId = await call.session();
      try {
        return await work(deps.sandboxes.agent(sessionId), input, call.request, call.reply);
      } catch (error) {
        const failure =
          error instanceof AgentRequestError ? fileError(error, maxUploadBytes) : error instanceof AgentUnavailableError ? await call.sandboxLost(sessionId, error, 'its files') : error;
        // An upload refused part-way (too large, storage full, a bad name): answer now, then
        // read what is left of the body (see dropRestOfBody) rather than close under the client.
        if (failure instanceof DataPlaneError && !call.request.raw.complete && !call.reply.sent) {
          dropRestOfBody(call.request, call.reply, maxUploadBytes + MULTIPART_OVERHEAD_BYTES);
          return sendFailure(call.reply, failure);
        }
        throw failure;
      }
    });
  }

  /** Checks an upload's declared size, before a session is allocated or a byte is read. */
  function checkUpload(request: FilesRequest): string[] {
    const declared = Number(request.headers['content-length']);
    if (declared > maxUploadBytes + MULTIPART_OVERHEAD_BYTES) throw tooLarge(maxUploadBytes);
    if (!request.isMultipart()) {
      throw new DataPlaneError(415, 'UnsupportedMediaType', 'Send the file as multipart/form-data in a part named "file", e.g. curl -F "file=@data.csv".');
    }
    return directoryOf(request);
  }

  /** Streams each file part of the body into the session, the parts' bytes counted against the limit. */
  async function storeUploads(agent: AgentClient, request: FilesRequest, directory: string[], options: { single: boolean }): Promise<AgentFileEntry[]> {
    const stored: AgentFileEntry[] = [];
    try {
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        if (options.single && stored.length > 0) {
          throw new DataPlaneError(400, 'SessionRequestValidationFailed', 'POST files takes one file per request: send the others in requests of their own.');
        }
        if (!part.filename) {
          throw new DataPlaneError(400, 'SessionRequestValidationFailed', 'The file part has no filename: send Content-Disposition: form-data; name="file"; filename="data.csv".');
        }
        const target = fileIn(directory, part.filename, 'file name');
        const budget = maxUploadBytes - stored.reduce((total, entry) => total + entry.size, 0);
        stored.push(await agent.writeFile(target, part.file, { maxBytes: budget }));
      }
    } catch (error) {
      if (error instanceof DataPlaneError || error instanceof AgentRequestError || error instanceof AgentUnavailableError) throw error;
      // Anything else came from reading the body: a malformed form, or a client that went away.
      throw new DataPlaneError(400, 'SessionRequestValidationFailed', `The multipart/form-data body could not be read: ${(error as Error).message}.`);
    }
    if (stored.length === 0) {
      throw new DataPlaneError(400, 'SessionRequestValidationFailed', 'The form has no file: send it in a part named "file" with a filename, e.g. curl -F "file=@data.csv".');
    }
    return stored;
  }

  async function sendContent(agent: AgentClient, path: string, reply: FastifyReply): Promise<FastifyReply> {
    const { entry, content } = await agent.readFile(path);
    reply.headers({
      'content-type': entry.contentType,
      'content-length': String(entry.size),
      'last-modified': new Date(entry.lastModified).toUTCString(),
      'cache-control': 'no-store',
    });
    void reply.send(content);
    // The session stays busy until the last byte is out (or the client went away).
    await finished(reply.raw).catch(() => undefined);
    return reply;
  }

  app.register(async (scope) => {
    await scope.register(multipart, {
      // Clients send paths as file names (/mnt/data/x.csv, reports/q1.csv): keep them whole so
      // they are placed, or refused, as sent, not cut to their last part.
      preservePath: true,
      // Each file part buffers up to 1 MiB before pausing the request (busboy's default is 16 KiB).
      fileHwm: 1024 * 1024,
      // The limit is the agent's (maxBytes), counted across all parts; busboy must not cut files short itself.
      limits: { fileSize: Infinity, files: MAX_FILES_PER_UPLOAD, fields: 100, fieldSize: 64 * 1024, parts: MAX_FILES_PER_UPLOAD + 100 },
      throwFileSizeLimit: false,
    });
    // Any other body reaches the upload handlers unread, which then say what to send instead.
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));

    // -- legacy (2024-02-02-preview) ---------------------------------------------------------

    const legacyUpload = (name: string) =>
      route(name, checkUpload, async (agent, directory, request, reply) => reply.send(legacyCollection(await storeUploads(agent, request, directory, { single: false }))));
    scope.post(`${POOL_PATH}/files/upload`, legacyUpload('POST /files/upload'));
    scope.post(`${POOL_PATH}/python/uploadFile`, legacyUpload('POST /python/uploadFile'));

    scope.get(
      `${POOL_PATH}/files/content/*`,
      route(
        'GET /files/content/{name}',
        (request) => {
          // `files/content//mnt/data/x` (a client quoting a full path) arrives with the slashes collapsed.
          const name = request.params['*'] ?? '';
          return fileIn(directoryOf(request), name.startsWith(`${DATA_PATH.slice(1)}/`) ? `/${name}` : name, 'file name');
        },
        (agent, path, _request, reply) => sendContent(agent, path, reply),
      ),
    );

    // -- both: the version says which shape (reference §4.2.3, §4.2.5, §4.3.2) --------------

    scope.get(
      `${POOL_PATH}/files`,
      route(
        'GET /files',
        (request) => ({ directory: directoryOf(request), recursive: parseRecursive(request.query.recursive), legacy: isLegacy(request) }),
        async (agent, { directory, recursive, legacy }, _request, reply) => {
          if (legacy) {
            // Legacy clients download by `filename`, so every file below is listed by its path.
            const files = (await agent.listFiles({ path: directory.join('/'), recursive: true })).filter((entry) => entry.type === 'file');
            return reply.send(legacyCollection(files));
          }
          const entries = await agent.listFiles({ path: directory.join('/'), recursive });
          return reply.send({ value: entries.map((entry) => resourceFile(entry, directory)), nextLink: null });
        },
      ),
    );

    const named = (request: FilesRequest) => {
      const directory = directoryOf(request);
      return { directory, path: fileIn(directory, request.params.name ?? '', 'file name'), legacy: isLegacy(request) };
    };

    scope.get(
      `${POOL_PATH}/files/:name`,
      route('GET /files/{name}', named, async (agent, { directory, path, legacy }, _request, reply) => {
        const entry = await agent.statFile(path);
        return reply.send(legacy ? legacyCollection([entry]) : resourceFile(entry, directory));
      }),
    );

    scope.delete(
      `${POOL_PATH}/files/:name`,
      route('DELETE /files/{name}', named, async (agent, { path, legacy }, _request, reply) => {
        await agent.deleteFile(path);
        return legacy ? reply.send({ message: 'file deleted successfully' }) : reply.code(204).send();
      }),
    );

    // -- new (2024-10-02-preview and later) ---------------------------------------------------

    scope.post(
      `${POOL_PATH}/files`,
      route('POST /files', checkUpload, async (agent, directory, request, reply) => {
        const [entry] = await storeUploads(agent, request, directory, { single: true });
        return reply.send(resourceFile(entry!, directory));
      }),
    );

    scope.get(
      `${POOL_PATH}/files/:name/content`,
      route('GET /files/{name}/content', named, (agent, { path }, _request, reply) => sendContent(agent, path, reply)),
    );
  });
}
