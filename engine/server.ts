// The engine's HTTP surface, on Fastify: routing with path parameters, body limits and content
// parsing come from a well-kept library; errors always leave in Azure's shape,
// `{ "error": { "code", "message" } }` with an `x-ms-error-code` header.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { isDatabaseUnavailable } from './db';
import { checkHealth, type HealthCheck } from './health';

export interface EngineServerDeps {
  version: string;
  checks: Record<string, HealthCheck>;
  healthTimeoutMs?: number;
  /** Adds the data plane and other routes. */
  register?: (app: FastifyInstance) => void;
}

/** Azure's request bodies are small JSON documents; file uploads get their own limit later. */
const JSON_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

export function createEngineServer(deps: EngineServerDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    // Clients build URLs as endpoint + "/" + path, so "//" and a trailing "/" are common (reference §1).
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  });

  app.get('/healthz', async (_request, reply) => {
    const report = await checkHealth(deps.version, deps.checks, deps.healthTimeoutMs);
    return reply.code(report.status === 'ok' ? 200 : 503).header('cache-control', 'no-store').send(report);
  });

  deps.register?.(app);

  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'NotFound', `No route for ${request.method} ${request.url.split('?')[0]}.`));
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (isDatabaseUnavailable(error)) {
      console.error(`[engine] ${request.method} ${request.url.split('?')[0]}: database unavailable: ${error.message}`);
      return sendError(reply, 503, 'ServiceUnavailable', 'The engine cannot reach its database right now (it may be restarting). Send the request again in a few seconds.', { 'retry-after': '5' });
    }
    if (status >= 500) {
      console.error(`[engine] ${request.method} ${request.url.split('?')[0]} failed:`, error);
      return sendError(reply, 500, 'InternalServerError', 'The engine failed to handle the request; it was logged.');
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 413, 'RequestEntityTooLarge', `The request body is larger than ${JSON_BODY_LIMIT_BYTES} bytes.`);
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, 415, 'UnsupportedMediaType', 'Send the body as application/json.');
    return sendError(reply, status, 'BadRequest', `The request could not be read: ${error.message}`);
  });
  return app;
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string, headers: Record<string, string> = {}): FastifyReply {
  return reply
    .code(status)
    .headers({ 'x-ms-error-code': code, 'cache-control': 'no-store', ...headers })
    .send({ error: { code, message } });
}
