// The engine's HTTP surface. For now only `/healthz`; the data plane and admin routes are added
// later as more `Route`s, which is why routing is a table rather than an if-chain.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkHealth, type HealthCheck } from './health';

export interface Route {
  method: string;
  path: string;
  handle: (request: IncomingMessage, response: ServerResponse) => Promise<void> | void;
}

export interface EngineServerDeps {
  version: string;
  checks: Record<string, HealthCheck>;
  healthTimeoutMs?: number;
  routes?: Route[];
}

export function createEngineServer(deps: EngineServerDeps): Server {
  const routes = [...healthRoutes(deps), ...(deps.routes ?? [])];
  return createServer((request, response) => {
    void dispatch(routes, request, response);
  });
}

function healthRoutes(deps: EngineServerDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      handle: async (_request, response) => {
        const report = await checkHealth(deps.version, deps.checks, deps.healthTimeoutMs);
        sendJson(response, report.status === 'ok' ? 200 : 503, report);
      },
    },
  ];
}

async function dispatch(routes: Route[], request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://engine').pathname;
  const samePath = routes.filter((route) => route.path === path);
  const route = samePath.find((candidate) => candidate.method === request.method);
  try {
    if (route) return await route.handle(request, response);
    if (samePath.length > 0) {
      response.setHeader('Allow', samePath.map((candidate) => candidate.method).join(', '));
      return sendError(response, 405, 'MethodNotAllowed', `${request.method} is not allowed on ${path}.`);
    }
    sendError(response, 404, 'NotFound', `No route for ${request.method} ${path}.`);
  } catch (error) {
    console.error(`engine: ${request.method} ${path} failed:`, error);
    if (!response.headersSent) sendError(response, 500, 'InternalError', 'The engine failed to handle the request.');
    else response.destroy();
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
    'Cache-Control': 'no-store',
  });
  response.end(payload);
}

/** Errors use the Azure dynamic sessions shape: `{ "error": { "code", "message" } }`. */
export function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  sendJson(response, status, { error: { code, message } });
}
