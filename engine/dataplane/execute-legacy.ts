// The legacy `code/execute` contract (reference §4.2.1) and its `execute` and
// `python/execute` aliases, under each pool's management endpoint.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ExecutionResult } from '../agent/client';
import { dataPlaneRoute, POOL_PATH, type DataPlaneDeps } from './context';
import { executionResultOf, runCode } from './execution';
import { parseExecuteRequest } from './requests';

const EXECUTE_PATHS = ['code/execute', 'execute', 'python/execute'];

/** The legacy response: both `result` and `executionResult`, as different pools return one or the other. */
function legacyResponse(execution: ExecutionResult) {
  const result = executionResultOf(execution);
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
  for (const path of EXECUTE_PATHS) {
    app.post(
      `${POOL_PATH}/${path}`,
      dataPlaneRoute(deps, `POST /${path}`, async (call) => {
        await call.authorize();
        call.requireIdentifier();
        const input = parseExecuteRequest(call.request.body, { allowAsynchronous: false });
        const sessionId = await call.session();
        const execution = await runCode(call, sessionId, input);
        call.execution = {
          executionId: randomUUID(),
          asynchronous: false,
          code: input.code,
          status: execution.status === 'Success' ? 'Succeeded' : 'Failed',
          stdout: execution.stdout,
          stderr: execution.stderr,
          executionResult: executionResultOf(execution),
          executionTimeMs: execution.executionTimeMs,
        };
        return call.reply.header('x-ms-session-guid', sessionId).send(legacyResponse(execution));
      }),
    );
  }
}
