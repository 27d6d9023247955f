// Sending a client's request exactly as it leaves the client: the path string as built (no URL
// normalisation, so "//" and unencoded identifiers reach the engine as sent), the headers in the
// client's order, and the body bytes, including multipart bodies as each HTTP library lays
// them out. node:http adds nothing; Host and Content-Length are set here as every client's library sets them.
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';

export type WireRequest = {
  method: 'GET' | 'POST' | 'DELETE';
  /** Absolute URL as the client built it, e.g. `http://127.0.0.1:41234/subscriptions/…//code/execute?identifier=…`. */
  url: string;
  headers: [string, string][];
  body?: Buffer;
};

export type WireResponse = { status: number; headers: Record<string, string | string[] | undefined>; bytes: Buffer; text: string; json: any };

export function send(wire: WireRequest): Promise<WireResponse> {
  // Split by hand: new URL() would collapse nothing, but it would percent-encode what clients leave raw.
  const match = /^http:\/\/([^/:]+):(\d+)(\/.*)$/.exec(wire.url);
  if (!match) throw new Error(`Not a loopback http URL: ${wire.url}`);
  const [, host, port, path] = match;
  // Given as a list, node:http sends the headers as they are, in order, and adds no Host itself.
  const headers: [string, string][] = [['Host', `${host}:${port}`], ...wire.headers];
  if (wire.body) headers.push(['Content-Length', String(wire.body.length)]);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host, port: Number(port), method: wire.method, path, headers: headers.flat() }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        let json: unknown = null;
        if (/json/.test(String(response.headers['content-type'] ?? ''))) json = JSON.parse(text);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes, text, json });
      });
    });
    request.on('error', reject);
    request.end(wire.body);
  });
}

// ---------------------------------------------------------------------------------------------
// JSON bodies as each library serialises them

/** Python's json.dumps with default separators (requests, aiohttp, the az CLI): `{"a": 1, "b": [1, 2]}`. */
export function pythonJson(value: unknown): Buffer {
  return Buffer.from(pythonDumps(value));
}

function pythonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonDumps).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => `${asciiJson(key)}: ${pythonDumps(item)}`)
      .join(', ')}}`;
  }
  return typeof value === 'string' ? asciiJson(value) : JSON.stringify(value);
}

/** json.dumps escapes every non-ASCII character (ensure_ascii=True). */
function asciiJson(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Compact JSON: httpx ≥ 0.28 (separators=(",", ":"), ensure_ascii=False), JSON.stringify, System.Text.Json. */
export function compactJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

// ---------------------------------------------------------------------------------------------
// Multipart bodies

export type Multipart = { contentType: string; body: Buffer };
type FilePart = { field: string; filename: string; data: Buffer; contentType?: string };

function assemble(boundary: string, partHeaders: string[], data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}\r\n${partHeaders.map((header) => `${header}\r\n`).join('')}\r\n`), data, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}

/**
 * urllib3's encode_multipart_formdata, used by requests (LangChain Python, LlamaIndex Python,
 * the az CLI): 32 hex digits of boundary, Content-Disposition then Content-Type.
 */
export function urllib3Multipart(part: FilePart): Multipart {
  const boundary = randomBytes(16).toString('hex');
  const headers = [`Content-Disposition: form-data; name="${part.field}"; filename="${part.filename}"`];
  if (part.contentType) headers.push(`Content-Type: ${part.contentType}`);
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: assemble(boundary, headers, part.data) };
}

/** httpx's multipart encoder (Semantic Kernel Python): the same layout as urllib3's. */
export const httpxMultipart = urllib3Multipart;

/** aiohttp.FormData (AutoGen): a uuid4().hex boundary, Content-Type before Content-Disposition. */
export function aiohttpMultipart(part: FilePart): Multipart {
  const boundary = randomUUID().replace(/-/g, '');
  const headers = [`Content-Type: ${part.contentType ?? 'application/octet-stream'}`, `Content-Disposition: form-data; name="${part.field}"; filename="${part.filename}"`];
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: assemble(boundary, headers, part.data) };
}

/**
 * .NET's MultipartFormDataContent.Add(content, name, fileName) (Semantic Kernel .NET): a quoted
 * GUID boundary, unquoted name and filename plus filename*, and no part Content-Type for a
 * ByteArrayContent.
 */
export function dotnetMultipart(part: FilePart): Multipart {
  const boundary = randomUUID();
  const headers = [`Content-Disposition: form-data; name=${part.field}; filename=${part.filename}; filename*=utf-8''${encodeURIComponent(part.filename)}`];
  return { contentType: `multipart/form-data; boundary="${boundary}"`, body: assemble(boundary, headers, part.data) };
}

/** What Node's fetch sends for a FormData holding a Blob (LangChain JS, LlamaIndex TS): undici's own encoding. */
export async function fetchFormData(part: FilePart): Promise<Multipart> {
  const form = new FormData();
  form.append(part.field, new Blob([new Uint8Array(part.data)]), part.filename);
  const encoded = new Response(form);
  return { contentType: encoded.headers.get('content-type')!, body: Buffer.from(await encoded.arrayBuffer()) };
}

// ---------------------------------------------------------------------------------------------
// Default headers of each HTTP library: not from the reference (it is silent on them), but what
// every request of these libraries carries, so the engine must not trip over them.

export const REQUESTS_DEFAULT_HEADERS: [string, string][] = [
  ['Accept-Encoding', 'gzip, deflate'],
  ['Accept', '*/*'],
  ['Connection', 'keep-alive'],
];
export const HTTPX_DEFAULT_HEADERS: [string, string][] = [
  ['Accept', '*/*'],
  ['Accept-Encoding', 'gzip, deflate'],
  ['Connection', 'keep-alive'],
];
export const AIOHTTP_DEFAULT_HEADERS: [string, string][] = [
  ['Accept', '*/*'],
  ['Accept-Encoding', 'gzip, deflate'],
  ['User-Agent', 'Python/3.12 aiohttp/3.11.18'],
];
export const FETCH_DEFAULT_HEADERS: [string, string][] = [
  ['accept', '*/*'],
  ['accept-language', '*'],
  ['sec-fetch-mode', 'cors'],
  ['accept-encoding', 'gzip, deflate'],
];
