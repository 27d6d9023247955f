// The benches' HTTP client: node:http over kept-alive connections. fetch (undici) spends several
// CPU-ms per request, and on a 2-core machine a bench's client shares the cores with the engine,
// Postgres and the sandboxes it measures; a caller in production runs elsewhere.
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export type BenchResponse = { status: number; headers: IncomingHttpHeaders; body: string };
export type Send = (url: string, token: string, body?: unknown) => Promise<BenchResponse>;

/** A client with up to `maxSockets` connections kept open: GET without a body, POST (JSON) with one. */
export function keepAliveClient(maxSockets: number): Send {
  const agent = new Agent({ keepAlive: true, maxSockets });
  return (url, token, body) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const headers = { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) };
    return new Promise((resolve, reject) => {
      const request = httpRequest(url, { method: body === undefined ? 'GET' : 'POST', agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      request.on('error', reject);
      request.end(payload);
    });
  };
}

/** POST {endpoint}/code/execute for `identifier` (the legacy contract, as LangChain sends it). */
export function codeExecuteUrl(url: string, endpoint: string, identifier: string): string {
  return `${url}${endpoint}/code/execute?api-version=2024-02-02-preview&identifier=${encodeURIComponent(identifier)}`;
}

export function codeExecuteBody(code: string) {
  return { properties: { codeInputType: 'inline', executionType: 'synchronous', code } };
}
