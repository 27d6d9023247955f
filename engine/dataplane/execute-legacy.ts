// The legacy `code/execute` contract (reference §4.2.1) and its `execute` and
// `python/execute` aliases, under each pool's management endpoint.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ExecutionResult } from '../agent/client';
import { touchByIdentifier } from '../sessions/store';
import { authorize, DataPlaneError, POOL_PATH, sendFailure, sessionFor, type DataPlaneDeps, type PoolParams } from './context';
import { parseExecuteRequest, parseIdentifier } from './requests';

const EXECUTE_PATHS = ['code/execute', 'execute', 'python/execute'];

/** The legacy response: both `result` and `executionResult`, as different pools return one or the other. */
function legacyResponse(execution: ExecutionResult) {
  const image = execution.displays.find((display) => display.mimeType === 'image/png');
  const result = image ? { type: 'image', format: 'png', base64_data: image.data } : (execution.result ?? '');
  return {
    $id: '1',
    properties: {
      $id: '2',
      status: execution.status === 'Success' ? 'Success' : 'Failure',
      stdout: execution.stdout,
      stderr: execution.stderr,
      result,
      executionResult: result,
      executionTimeInMilliseconds: execution.executionTimeMs,
    },
  };
}

export function registerLegacyExecute(app: FastifyInstance, deps: DataPlaneDeps): void {
  const execute = async (request: FastifyRequest<{ Params: PoolParams; Querystring: { identifier?: string } }>, reply: FastifyReply) => {
    try {
      const { pool } = await authorize(request, deps.db);
      const identifier = parseIdentifier(request.query.identifier);
      const input = parseExecuteRequest(request.body, { allowAsynchronous: false });
      const sessionId = await sessionFor(deps, pool, identifier);
      deps.busy.enter(sessionId);
      try {
        const execution = await deps.sandboxes.agent(sessionId).execute({ code: input.code, timeoutMs: input.timeoutSeconds * 1000 }).catch(async (error: unknown) => {
          // The agent is gone (container killed, out of memory): replace the sandbox, tell the caller.
          await deps.sandboxes.destroy(sessionId, ['ALLOCATED'], `sandbox stopped answering: ${String(error)}`.slice(0, 500)).catch(() => false);
          throw new DataPlaneError(
            503,
            'SessionSandboxFailed',
            'The session\'s sandbox stopped responding (for example, it ran out of memory) and was removed. Send the request again to get a fresh, empty session.',
          );
        });
        // The cooldown counts from the end of the request, not its start.
        await touchByIdentifier(deps.db, { poolId: pool.id, identifier, cooldownSeconds: pool.cooldownSeconds });
        return reply.header('x-ms-session-guid', sessionId).send(legacyResponse(execution));
      } finally {
        deps.busy.leave(sessionId);
      }
    } catch (error) {
      return sendFailure(reply, error);
    }
  };
  for (const path of EXECUTE_PATHS) app.post(`${POOL_PATH}/${path}`, execute);
}
