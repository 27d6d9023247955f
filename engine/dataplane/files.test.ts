// The files API end to end: real engine, Postgres, containerd and code-interpreter sandboxes,
// driven over HTTP the way Azure's clients drive it (reference §4.2.2–§4.2.5, §4.3.2, §10).
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../../lib/auth/access';
import { deletePool, updatePool } from '../../lib/services/pools';
import { createEngineServer } from '../server';
import { execute, poolWithReady, startTestEngine, waitFor, type TestEngine } from '../testing/harness';
import { registerFiles } from './files';

const MIB = 1024 * 1024;
const LEGACY = '2024-02-02-preview';
const NEW = '2025-10-02-preview';

let engine: TestEngine;
let pool: Awaited<ReturnType<typeof poolWithReady>>;

// The suite works in four sessions, all started before it begins, so it never waits for a
// sandbox on a busy host: LEGACY (files/upload and friends), NEW (/files), BIG (large files,
// links, the storage quota), SLOW (the last test, a stalled upload).
const LEGACY_ID = 'files-legacy';
const NEW_ID = 'files-new';
const BIG_ID = 'files-big';
const SLOW_ID = 'files-slow';

beforeAll(async () => {
  engine = await startTestEngine();
  // /mnt/data is a 64 MiB tmpfs in test engines; it counts against the memory limit.
  pool = await testPool({ isolation: 'runc', readySessionInstances: 4, maxConcurrentSessions: 5, cooldownPeriodInSeconds: 3600, memoryGi: 1 });
}, 300_000);

afterAll(async () => {
  if (pool) {
    await deletePool(HOST_OPERATOR, pool.pool.name);
    // Every pool of this file drained (sandboxes removed) before the engine stops.
    await waitFor('the test pools drained', async () => (await engine.db.query(`SELECT 1 FROM session_pools WHERE deleting_at IS NOT NULL AND id = ANY($1)`, [createdPools])).rowCount === 0);
  }
  await engine?.stop();
  engine?.runtime.close();
}, 120_000);

/** Pools this file made, so afterAll can wait until all of them are drained. */
const createdPools: string[] = [];
async function testPool(settings: Record<string, unknown>) {
  const created = await poolWithReady(engine, settings);
  createdPools.push(created.pool.id);
  return created;
}

function url(path: string, identifier: string, query: Record<string, string> = {}, base = engine.url, endpoint = pool.endpoint): string {
  const search = new URLSearchParams({ 'api-version': LEGACY, identifier, ...query });
  return `${base}${endpoint}/${path}?${search}`;
}

function auth(token: string | null = pool.token): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

type ErrorBody = { error: { code: string; message: string } };

async function upload(path: string, identifier: string, files: { name: string; data: Uint8Array<ArrayBuffer> }[], query: Record<string, string> = {}) {
  const form = new FormData();
  for (const file of files) form.append('file', new Blob([file.data], { type: 'application/octet-stream' }), file.name);
  const response = await fetch(url(path, identifier, query), { method: 'POST', headers: auth(), body: form });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

async function download(path: string, identifier: string, query: Record<string, string> = {}) {
  const response = await fetch(url(path, identifier, query), { headers: auth() });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

async function getJson(path: string, identifier: string, query: Record<string, string> = {}, init: RequestInit = {}) {
  const response = await fetch(url(path, identifier, query), { headers: auth(), ...init });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & ErrorBody };
}

async function run(identifier: string, code: string): Promise<unknown> {
  const response = await execute(engine.url, pool.endpoint, pool.token, identifier, code);
  expect(response.body.properties?.status, response.body.properties?.stderr).toBe('Success');
  const result = response.body.properties?.result;
  // A list or tuple comes back as IPython's text repr (as Azure returns it); these checks want
  // the value itself, which IPython keeps in `_`.
  if (typeof result !== 'string' || !/^[[({]/.test(result)) return result;
  const value = await execute(engine.url, pool.endpoint, pool.token, identifier, "__import__('json').dumps(_)");
  return JSON.parse(String(value.body.properties?.result));
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

type LegacyList = { value: { properties: { filename: string; size: number; lastModifiedTime: string } }[] };
type ResourceFile = { name: string; type: string; sizeInBytes: number; lastModifiedAt: string; contentType: string; directory: string };

/**
 * A multipart upload written by hand over node:http, so the test controls when each byte
 * leaves and sees the answer the moment it arrives, even while the body is still being sent.
 */
async function rawUpload(
  target: string,
  filename: string,
  body: AsyncIterable<Buffer>,
  { headers = {}, token = pool.token }: { headers?: Record<string, string>; token?: string } = {},
): Promise<{ status: number; body: ErrorBody & Record<string, unknown>; sentBeforeAnswer: number; sentInAll: number }> {
  const boundary = `----sandpool${randomBytes(8).toString('hex')}`;
  const request = httpRequest(target, { method: 'POST', headers: { ...auth(token), 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers } });
  let sent = 0;
  let sentBeforeAnswer = -1;
  let answered: () => void = () => undefined;
  // Settles when the answer starts or the connection ends: a writer waiting for 'drain' stops then.
  const stopWriting = new Promise<void>((resolve) => {
    answered = resolve;
    request.once('close', resolve);
  });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    request.on('response', (response) => {
      sentBeforeAnswer = sent;
      answered();
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', (error) => {
      if (sentBeforeAnswer < 0) reject(error);
    });
  });
  const write = async (chunk: Buffer) => {
    sent += chunk.length;
    if (!request.write(chunk)) await Promise.race([new Promise((resolve) => request.once('drain', resolve)), stopWriting]);
  };
  try {
    await write(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    for await (const chunk of body) {
      if (sentBeforeAnswer >= 0 || request.destroyed) break;
      await write(chunk);
    }
    if (sentBeforeAnswer < 0) request.end(`\r\n--${boundary}--\r\n`);
  } catch {
    // The server closed the connection: the answer (if any) is what counts.
  }
  const { status, text } = await answer;
  request.destroy();
  return { status, body: JSON.parse(text) as ErrorBody & Record<string, unknown>, sentBeforeAnswer, sentInAll: sent };
}

async function* zeros(totalBytes: number, chunkBytes = 256 * 1024): AsyncGenerator<Buffer> {
  const chunk = Buffer.alloc(chunkBytes);
  for (let sent = 0; sent < totalBytes; sent += chunkBytes) yield chunk.subarray(0, Math.min(chunkBytes, totalBytes - sent));
}

describe('legacy files API (2024-02-02-preview), as LangChain, Semantic Kernel, AutoGen and LlamaIndex call it', () => {
  it('uploads, lists, downloads byte for byte, accepts /mnt/data/ names, and feeds code', async () => {
    const binary = randomBytes(300 * 1024);
    const csv = Buffer.from('a,b\n1,2\n3,4\n');
    const uploaded = await upload('files/upload', LEGACY_ID, [
      { name: 'data.csv', data: csv },
      // Semantic Kernel and LlamaIndex prefix /mnt/data/; LangChain may send a relative path.
      { name: '/mnt/data/blobs/random.bin', data: binary },
    ]);
    expect(uploaded.status).toBe(200);
    const stored = (uploaded.body as LegacyList).value.map((entry) => entry.properties);
    expect(stored.map((file) => [file.filename, file.size])).toEqual([
      ['data.csv', csv.length],
      ['blobs/random.bin', binary.length],
    ]);
    expect(uploaded.body).toMatchObject({ $id: '1', value: [{ $id: '2', properties: { $id: '3' } }, { $id: '4', properties: { $id: '5' } }] });
    expect(stored[0]!.lastModifiedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);

    const listed = await getJson('files', LEGACY_ID);
    expect(listed.status).toBe(200);
    expect((listed.body as unknown as LegacyList).value.map((entry) => [entry.properties.filename, entry.properties.size])).toEqual([
      ['blobs/random.bin', binary.length],
      ['data.csv', csv.length],
    ]);

    const text = await download('files/content/data.csv', LEGACY_ID);
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(text.bytes.equals(csv)).toBe(true);
    const blob = await download('files/content/blobs/random.bin', LEGACY_ID);
    expect(blob.headers.get('content-type')).toBe('application/octet-stream');
    expect(blob.headers.get('content-length')).toBe(String(binary.length));
    expect(blob.bytes.equals(binary)).toBe(true);
    // LangChain quotes a full path into the URL: files/content//mnt/data/…
    const quoted = await download('files/content//mnt/data/blobs/random.bin', LEGACY_ID);
    expect(quoted.status).toBe(200);
    expect(quoted.bytes.equals(binary)).toBe(true);

    // The kernel (uid 1000) reads what was uploaded, and the files are its own.
    expect(await run(LEGACY_ID, "import pandas as pd, os\nst = os.stat('/mnt/data/data.csv')\n[int(pd.read_csv('/mnt/data/data.csv')['b'].sum()), st.st_uid, oct(st.st_mode & 0o777)]")).toEqual([
      6,
      1000,
      '0o644',
    ]);
    expect(await run(LEGACY_ID, "import hashlib\nhashlib.sha256(open('blobs/random.bin', 'rb').read()).hexdigest()")).toBe(sha256(binary));

    // A file the code writes downloads byte for byte.
    const written = await run(LEGACY_ID, "import hashlib\ndata = bytes(range(256)) * 4099\nopen('/mnt/data/out.bin', 'wb').write(data)\nhashlib.sha256(data).hexdigest()");
    const out = await download('files/content/out.bin', LEGACY_ID);
    expect(out.bytes.length).toBe(256 * 4099);
    expect(sha256(out.bytes)).toBe(written);

    // The older alias of files/upload.
    const alias = await upload('python/uploadFile', LEGACY_ID, [{ name: 'alias.txt', data: Buffer.from('via alias') }]);
    expect((alias.body as LegacyList).value[0]?.properties.filename).toBe('alias.txt');
  });

  it('answers GET and DELETE files/{name} in the legacy shapes', async () => {
    await upload('files/upload', LEGACY_ID, [{ name: 'gone.txt', data: Buffer.from('bye') }]);
    const one = await getJson('files/gone.txt', LEGACY_ID);
    expect(one.body).toMatchObject({ value: [{ properties: { filename: 'gone.txt', size: 3 } }] });
    const deleted = await getJson('files/gone.txt', LEGACY_ID, {}, { method: 'DELETE' });
    expect(deleted).toMatchObject({ status: 200, body: { message: 'file deleted successfully' } });
    const missing = await download('files/content/gone.txt', LEGACY_ID);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.bytes.toString())).toMatchObject({ error: { code: 'FileNotFound' } });
    expect(missing.headers.get('x-ms-error-code')).toBe('FileNotFound');
  });
});

describe('files API of the newer versions (2024-10-02-preview and later)', () => {
  it('uploads into path, lists (recursively), reads metadata and content, and deletes', async () => {
    const id = NEW_ID;
    const root = await upload('files', id, [{ name: 'top.txt', data: Buffer.from('top') }], { 'api-version': NEW, path: '/mnt/data' });
    expect(root.status).toBe(200);
    expect(root.body).toMatchObject({ name: 'top.txt', type: 'File', sizeInBytes: 3, contentType: 'text/plain; charset=utf-8', directory: '' });
    const report = Buffer.from('quarter,revenue\nq1,10\n');
    const nested = await upload('files', id, [{ name: 'q1.csv', data: report }], { 'api-version': NEW, path: 'reports/2025' });
    expect(nested.body).toMatchObject({ name: 'q1.csv', type: 'File', sizeInBytes: report.length });
    expect(typeof nested.body.lastModifiedAt).toBe('string');

    const flat = await getJson('files', id, { 'api-version': NEW });
    expect(flat.body.nextLink).toBeNull();
    expect((flat.body.value as ResourceFile[]).map((file) => [file.name, file.type, file.directory])).toEqual([
      ['reports', 'Directory', ''],
      ['top.txt', 'File', ''],
    ]);
    const recursive = await getJson('files', id, { 'api-version': NEW, recursive: 'true' });
    expect((recursive.body.value as ResourceFile[]).map((file) => [file.name, file.directory])).toEqual([
      ['reports', ''],
      ['2025', 'reports'],
      ['q1.csv', 'reports/2025'],
      ['top.txt', ''],
    ]);
    const inPath = await getJson('files', id, { 'api-version': NEW, path: 'reports', recursive: 'true' });
    expect((inPath.body.value as ResourceFile[]).map((file) => [file.name, file.directory])).toEqual([
      ['2025', ''],
      ['q1.csv', '2025'],
    ]);

    const metadata = await getJson('files/q1.csv', id, { 'api-version': NEW, path: 'reports/2025' });
    expect(metadata.body).toMatchObject({ name: 'q1.csv', type: 'File', sizeInBytes: report.length, contentType: 'text/csv; charset=utf-8' });
    // Semantic Kernel .NET escapes the whole name, "/" included.
    const escaped = await getJson(`files/${encodeURIComponent('reports/2025/q1.csv')}`, id, { 'api-version': NEW });
    expect(escaped.body).toMatchObject({ name: 'q1.csv', directory: 'reports/2025' });
    const content = await download('files/q1.csv/content', id, { 'api-version': NEW, path: 'reports/2025' });
    expect(content.bytes.equals(report)).toBe(true);

    const deleted = await fetch(url('files/q1.csv', id, { 'api-version': NEW, path: 'reports/2025' }), { method: 'DELETE', headers: auth() });
    expect(deleted.status).toBe(204);
    expect((await getJson('files/q1.csv', id, { 'api-version': NEW, path: 'reports/2025' })).status).toBe(404);
    const notEmpty = await getJson('files/reports', id, { 'api-version': NEW }, { method: 'DELETE' });
    expect(notEmpty.body.error.code).toBe('DirectoryNotEmpty');
  });

  it('streams a 20 MiB upload and download byte for byte', async () => {
    const big = randomBytes(20 * MIB);
    const startedAt = performance.now();
    const uploaded = await upload('files', BIG_ID, [{ name: 'big.bin', data: big }], { 'api-version': NEW });
    const uploadMs = performance.now() - startedAt;
    expect(uploaded.body).toMatchObject({ name: 'big.bin', sizeInBytes: big.length });
    const downloadStartedAt = performance.now();
    const downloaded = await download('files/big.bin/content', BIG_ID, { 'api-version': NEW });
    const downloadMs = performance.now() - downloadStartedAt;
    expect(downloaded.bytes.length).toBe(big.length);
    expect(downloaded.bytes.equals(big)).toBe(true);
    console.log(`  20 MiB: upload ${Math.round(uploadMs)} ms, download ${Math.round(downloadMs)} ms`);
  });

  it('refuses a second file in one POST files, and a body that is not a form', async () => {
    const two = await upload('files', NEW_ID, [
      { name: 'a.txt', data: Buffer.from('a') },
      { name: 'b.txt', data: Buffer.from('b') },
    ], { 'api-version': NEW });
    expect(two.status).toBe(400);
    expect(String((two.body as unknown as ErrorBody).error.message)).toMatch(/one file per request/);
    const json = await getJson('files', NEW_ID, { 'api-version': NEW }, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{"file": "x"}' });
    expect(json.status).toBe(415);
    expect(json.body.error.message).toMatch(/multipart\/form-data/);
    const raw = await getJson('files/upload', NEW_ID, {}, { method: 'POST', headers: { ...auth(), 'content-type': 'application/octet-stream' }, body: 'bytes' });
    expect(raw.status).toBe(415);
    const noFile = await getJson('files/upload', NEW_ID, {}, { method: 'POST', headers: auth(), body: (() => { const form = new FormData(); form.append('note', 'no file here'); return form; })() });
    expect(noFile.status).toBe(400);
    expect(noFile.body.error.message).toMatch(/no file/);
  });
});

describe('paths stay inside /mnt/data', () => {
  it('refuses .. and absolute paths elsewhere with 400 (those in the URL before allocating a session)', async () => {
    const id = 'bad-paths-1';
    const inUrl = [
      await getJson(`files/content/${encodeURIComponent('../etc/passwd')}`, id),
      await getJson('files/passwd/content', id, { 'api-version': NEW, path: '/etc' }),
      await getJson('files', id, { 'api-version': NEW, path: 'a/../../b' }),
      await getJson(`files/${encodeURIComponent('/etc/passwd')}`, id, { 'api-version': NEW }, { method: 'DELETE' }),
      await getJson('files', id, { 'api-version': NEW, path: '../..' }, { method: 'POST', body: (() => { const form = new FormData(); form.append('file', new Blob(['x']), 'x.txt'); return form; })() }),
    ];
    // A name inside the form is read after the session is found (the body is not buffered first).
    const inForm = [
      await upload('files/upload', LEGACY_ID, [{ name: '../escape.txt', data: Buffer.from('x') }]),
      await upload('files/upload', LEGACY_ID, [{ name: '/etc/cron.d/evil', data: Buffer.from('x') }]),
      await upload('files/upload', LEGACY_ID, [{ name: 'fine.txt', data: Buffer.from('x') }, { name: 'sub/../../up.txt', data: Buffer.from('x') }]),
    ];
    for (const response of [...inUrl, ...inForm]) {
      expect(response.status).toBe(400);
      expect((response.body as unknown as ErrorBody).error.code).toBe('InvalidFilePath');
      expect(response.headers.get('x-ms-error-code')).toBe('InvalidFilePath');
    }
    expect((inForm[0]!.body as unknown as ErrorBody).error.message).toMatch(/contains "\.\."/);
    expect((inForm[1]!.body as unknown as ErrorBody).error.message).toMatch(/absolute path outside \/mnt\/data/);
    const sessions = await engine.db.query(`SELECT 1 FROM sessions WHERE pool_id = $1 AND identifier = $2`, [pool.pool.id, id]);
    expect(sessions.rowCount).toBe(0);
    expect(await run(LEGACY_ID, "import os\n[os.path.exists('/mnt/data/fine.txt'), os.path.exists('/mnt/escape.txt'), os.path.exists('/mnt/up.txt')]")).toEqual([true, false, false]);
  });

  it('never follows a symbolic link planted by code: no reading, overwriting or deleting through it', async () => {
    const id = BIG_ID;
    await run(
      id,
      [
        'import os',
        "open('/tmp/outside.txt', 'w').write('secret')",
        "os.symlink('/etc/passwd', '/mnt/data/evil')",
        "os.symlink('/tmp/outside.txt', '/mnt/data/evil2')",
        "os.symlink('/tmp', '/mnt/data/evildir')",
        "open('/mnt/data/plain.txt', 'w').write('plain')",
      ].join('\n'),
    );
    const refused = (response: { status: number; body: unknown }) => {
      expect(response.status).toBe(400);
      expect((response.body as ErrorBody).error.code).toBe('SymbolicLinkNotFollowed');
    };
    const read = await download('files/content/evil', id);
    expect(read.status).toBe(400);
    expect(read.bytes.toString()).not.toMatch(/root:/);
    refused({ status: read.status, body: JSON.parse(read.bytes.toString()) });
    refused(await getJson('files/outside.txt/content', id, { 'api-version': NEW, path: 'evildir' }));
    refused(await getJson('files/evil2', id, { 'api-version': NEW }));
    refused(await upload('files/upload', id, [{ name: 'evil2', data: Buffer.from('overwritten') }]));
    refused(await upload('files/upload', id, [{ name: 'evildir/planted.txt', data: Buffer.from('planted') }]));
    refused(await getJson('files/evil2', id, { 'api-version': NEW }, { method: 'DELETE' }));
    refused(await getJson('files/outside.txt', id, { 'api-version': NEW, path: 'evildir' }, { method: 'DELETE' }));
    refused(await getJson('files', id, { 'api-version': NEW, path: 'evildir' }));

    // Nothing outside changed, the links are still there, and listings leave them out.
    expect(await run(id, "import os\n[open('/tmp/outside.txt').read(), os.path.exists('/tmp/planted.txt'), sorted(n for n in os.listdir('/mnt/data') if n.startswith('evil'))]")).toEqual([
      'secret',
      false,
      ['evil', 'evil2', 'evildir'],
    ]);
    const listed = await getJson('files', id, { 'api-version': NEW, recursive: 'true' });
    const names = (listed.body.value as ResourceFile[]).map((file) => file.name);
    expect(names).toContain('plain.txt');
    expect(names.filter((name) => name.startsWith('evil'))).toEqual([]);
  });
});

describe('limits', () => {
  it('answers 413 from Content-Length alone, before reading the body or allocating a session', async () => {
    const id = 'too-long-1';
    const startedAt = performance.now();
    const response = await rawUpload(url('files/upload', id), 'huge.bin', zeros(200 * MIB), { headers: { 'content-length': String(200 * MIB) } });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('RequestEntityTooLarge');
    expect(response.body.error.message).toMatch(/larger than 128 MiB/);
    expect(response.sentBeforeAnswer).toBeLessThan(64 * MIB);
    expect(performance.now() - startedAt).toBeLessThan(10_000);
    const sessions = await engine.db.query(`SELECT 1 FROM sessions WHERE pool_id = $1 AND identifier = $2`, [pool.pool.id, id]);
    expect(sessions.rowCount).toBe(0);
  });

  describe('with a 4 MiB upload limit', () => {
    // A second front for the same engine (same database, sandboxes and agents), with a small
    // limit so the test need not send 128 MiB.
    let front: ReturnType<typeof createEngineServer>;
    let frontUrl: string;
    beforeAll(async () => {
      front = createEngineServer({
        version: 'test',
        checks: {},
        register: (app) => registerFiles(app, engine.dataPlane, { maxUploadBytes: 4 * MIB }),
      });
      frontUrl = await front.listen({ port: 0, host: '127.0.0.1' });
    });
    afterAll(async () => {
      await front?.close();
    });

    it('accepts exactly the limit', async () => {
      const response = await rawUpload(url('files/upload', LEGACY_ID, {}, frontUrl), 'limits/exact.bin', zeros(4 * MIB));
      expect(response.status).toBe(200);
      expect((response.body as unknown as LegacyList).value[0]?.properties.size).toBe(4 * MIB);
    });

    it('answers 413 while a body without Content-Length is still arriving, and keeps nothing of it', async () => {
      const response = await rawUpload(url('files/upload', LEGACY_ID, {}, frontUrl), 'limits/endless.bin', zeros(512 * MIB));
      expect(response.status).toBe(413);
      expect(response.body.error.message).toMatch(/larger than 4 MiB/);
      // The answer came while the client was still sending: nothing waited for the whole body.
      expect(response.sentBeforeAnswer).toBeGreaterThan(4 * MIB);
      expect(response.sentBeforeAnswer).toBeLessThan(64 * MIB);
      expect(await run(LEGACY_ID, "import os\nsorted(os.listdir('/mnt/data/limits'))")).toEqual(['exact.bin']);
    });
  });

  it('says clearly when /mnt/data is full, drops the partial file, and keeps working', async () => {
    const id = BIG_ID;
    // fetch sends the whole body before reading: the engine must read the rest and still answer.
    const usage = "import os, shutil\n[sorted(n for n in os.listdir('/mnt/data') if n.startswith(('too-much', '.sandpool-upload-'))), shutil.disk_usage('/mnt/data').used]";
    const [, usedBefore] = (await run(id, usage)) as [string[], number];
    const response = await upload('files/upload', id, [{ name: 'too-much.bin', data: Buffer.alloc(70 * MIB, 7) }]);
    expect(response.status).toBe(507);
    expect((response.body as unknown as ErrorBody).error).toMatchObject({ code: 'SessionStorageFull' });
    expect((response.body as unknown as ErrorBody).error.message).toMatch(/is full \(64 MiB in all/);
    expect(await run(id, usage)).toEqual([[], usedBefore]);
    const small = await upload('files/upload', id, [{ name: 'fits.txt', data: Buffer.from('fits') }]);
    expect(small.status).toBe(200);
  });
});

describe('sessions and callers', () => {
  it('moves the cooldown on every files request', async () => {
    await upload('files/upload', LEGACY_ID, [{ name: 't.txt', data: Buffer.from('t') }]);
    // Each request's closing touch is written just after its reply: let the upload's land.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await engine.db.query<{ at: Date }>(`SELECT last_accessed_at AS at FROM sessions WHERE pool_id = $1 AND identifier = $2 AND state = 'ALLOCATED'`, [pool.pool.id, LEGACY_ID]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await getJson('files', LEGACY_ID);
    // The closing touch is written just after the reply.
    await waitFor('the cooldown restarted', async () => {
      const after = await engine.db.query<{ at: Date }>(`SELECT last_accessed_at AS at FROM sessions WHERE pool_id = $1 AND identifier = $2 AND state = 'ALLOCATED'`, [pool.pool.id, LEGACY_ID]);
      return after.rows[0]!.at.getTime() > before.rows[0]!.at.getTime();
    }, 10_000);
  });

  it('answers 401 without a token and 403 without a role on the pool, like execute', async () => {
    const other = await testPool({ isolation: 'runc', readySessionInstances: 0, maxConcurrentSessions: 1 });
    try {
      const noToken = await fetch(url('files', 'auth-1'));
      expect(noToken.status).toBe(401);
      expect(noToken.headers.get('www-authenticate')).toBe('Bearer');
      const form = new FormData();
      form.append('file', new Blob(['x']), 'x.txt');
      expect((await fetch(url('files/upload', 'auth-1'), { method: 'POST', body: form })).status).toBe(401);
      const wrongPool = await fetch(url('files/content/x.txt', 'auth-1'), { headers: auth(other.token) });
      expect(wrongPool.status).toBe(403);
      expect(((await wrongPool.json()) as ErrorBody).error.code).toBe('Forbidden');
      expect((await fetch(url('files/upload', 'auth-1'), { method: 'POST', body: form, headers: auth(other.token) })).status).toBe(403);
    } finally {
      await deletePool(HOST_OPERATOR, other.pool.name);
    }
  });

  // Last: its short cooldown lets every idle session of the pool go.
  it('keeps the session busy during a slow upload (no cooldown under it) and streams to the sandbox as bytes arrive', async () => {
    await updatePool(HOST_OPERATOR, pool.pool.name, { cooldownPeriodInSeconds: 10 });
    // Allocate the session first, then upload half, stall past the cooldown, and finish.
    const first = await execute(engine.url, pool.endpoint, pool.token, SLOW_ID, '1');
    let reachedSandbox: unknown;
    async function* slowly(): AsyncGenerator<Buffer> {
      yield* zeros(3 * MIB);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Half the file is in the sandbox (in the upload's temporary file) before the rest is sent.
      const probe = await execute(engine.url, pool.endpoint, pool.token, SLOW_ID, "import os\nsum(os.path.getsize('/mnt/data/' + n) for n in os.listdir('/mnt/data') if n.startswith('.sandpool-upload-'))");
      reachedSandbox = probe.body.properties?.result;
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      yield* zeros(3 * MIB);
    }
    const response = await rawUpload(url('files/upload', SLOW_ID), 'slow.bin', slowly());
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(reachedSandbox).toBeGreaterThanOrEqual(2 * MIB);
    const after = await execute(engine.url, pool.endpoint, pool.token, SLOW_ID, "import os\nos.path.getsize('/mnt/data/slow.bin')");
    expect(after.sessionId).toBe(first.sessionId);
    expect(after.body.properties?.result).toBe(6 * MIB);
  }, 120_000);
});
