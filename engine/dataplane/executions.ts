// The new contract's executions (reference §4.3.1): `POST /executions` runs code synchronously
// (200 with the execution) or asynchronously (202, `operation-id` and `Operation-Location`), and
// `GET /executions/{id}` reports it. Executions are kept in the request history
// (history.ts), which is what makes polling survive an engine restart.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AgentRequestError } from '../agent/client';
import { dataPlaneRoute, DataPlaneError, POOL_PATH, poolUrl, type DataPlaneCall, type DataPlaneDeps, type PoolParams } from './context';
import { executionOutcome, runCode, type ExecutionOutcome } from './execution';
import type { ExecutionRecord } from './history';
import { parseExecuteRequest, type ExecuteRequest } from './requests';

type ExecutionQuery = { identifier?: string; 'api-version'?: string };
type PostRequest = FastifyRequest<{ Params: PoolParams; Querystring: ExecutionQuery }>;
type GetRequest = FastifyRequest<{ Params: PoolParams & { executionId: string }; Querystring: ExecutionQuery }>;

// What a caller may choose as an execution id (the optional `operation-id` header).
const OPERATION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function executionIdFrom(request: PostRequest): string {
  const chosen = request.headers['operation-id'];
  if (chosen === undefined) return randomUUID();
  if (typeof chosen !== 'string' || !OPERATION_ID_PATTERN.test(chosen)) {
    throw new DataPlaneError(400, 'SessionRequestValidationFailed', 'The operation-id header must be 1 to 128 letters, digits and . _ : - (starting with a letter or digit), or be left out to get a generated id.');
  }
  return chosen;
}

/** SessionCodeExecutionResource: `result` only once the execution has ended. */
function executionResource(identifier: string, execution: ExecutionRecord) {
  return {
    id: execution.executionId,
    identifier,
    executionType: execution.asynchronous ? 'Asynchronous' : 'Synchronous',
    status: execution.status,
    ...(execution.status === 'Running'
      ? {}
      : {
          result: {
            stdout: execution.stdout ?? '',
            stderr: execution.stderr ?? '',
            executionResult: execution.executionResult === undefined ? '' : execution.executionResult,
            executionTimeInMilliseconds: execution.executionTimeMs ?? 0,
          },
        }),
    ...(execution.error ? { error: execution.error } : {}),
  };
}

function recordOf(executionId: string, input: ExecuteRequest, outcome: ExecutionOutcome | undefined): ExecutionRecord {
  return {
    executionId,
    asynchronous: input.asynchronous,
    code: input.code,
    status: outcome?.status ?? 'Running',
    stdout: outcome?.stdout,
    stderr: outcome?.stderr,
    executionResult: outcome?.executionResult,
    executionTimeMs: outcome?.executionTimeMs,
    error: outcome?.error,
  };
}

/**
 * Runs the code. What stops it short is a Failed execution, not an HTTP error: a lost sandbox
 * (Azure's "Execution aborted"), or a kernel that another execution held for the whole timeout.
 */
async function outcomeOf(call: DataPlaneCall, sessionId: string, input: ExecuteRequest): Promise<ExecutionOutcome> {
  const startedAt = performance.now();
  const failed = (error: { code: string; message: string }, stderr: string): ExecutionOutcome => ({
    status: 'Failed',
    stdout: '',
    stderr,
    executionResult: '',
    executionTimeMs: Math.round(performance.now() - startedAt),
    error,
  });
  try {
    return executionOutcome(await runCode(call, sessionId, input), input);
  } catch (error) {
    if (error instanceof DataPlaneError) return failed({ code: error.code, message: error.message }, `Execution aborted: ${error.message}\n`);
    if (error instanceof AgentRequestError && error.code === 'Busy') {
      const message = `Another execution in this session held the kernel for the whole ${input.timeoutSeconds} s timeout, so this code never ran. Wait for it to finish, or use another identifier.`;
      return failed({ code: 'ExecutionTimeout', message }, `${message}\n`);
    }
    throw error;
  }
}

export function registerExecutions(app: FastifyInstance, deps: DataPlaneDeps): void {
  app.post(
    `${POOL_PATH}/executions`,
    dataPlaneRoute<PostRequest>(deps, 'POST /executions', async (call) => {
      await call.authorize();
      const identifier = call.requireIdentifier();
      const input = parseExecuteRequest(call.request.body, { allowAsynchronous: true });
      const executionId = executionIdFrom(call.request);
      const sessionId = await call.session();
      call.reply.headers({
        'operation-id': executionId,
        'operation-location': poolUrl(call.request, `/executions/${encodeURIComponent(executionId)}`, { identifier }),
        'x-ms-session-guid': sessionId,
      });
      if (!input.asynchronous) {
        call.execution = recordOf(executionId, input, await outcomeOf(call, sessionId, input));
        return call.reply.send(executionResource(identifier, call.execution));
      }
      call.execution = recordOf(executionId, input, undefined);
      const rowId = await deps.history.insertRunning(call.historyRecord(202));
      call.historyWritten = true;
      runInBackground(call, sessionId, input, executionId, rowId);
      return call.reply.code(202).send(executionResource(identifier, call.execution));
    }),
  );

  app.get(
    `${POOL_PATH}/executions/:executionId`,
    dataPlaneRoute<GetRequest>(deps, 'GET /executions/{id}', async (call) => {
      const pool = await call.authorize();
      const identifier = call.requireIdentifier();
      const { executionId } = call.request.params;
      const execution = await deps.history.findExecution(pool.id, identifier, executionId);
      if (!execution) {
        throw new DataPlaneError(404, 'ExecutionNotFound', `No execution available for operation Id: ${executionId} (with identifier "${identifier}" in pool "${pool.name}").`);
      }
      call.sessionId = execution.sessionId ?? undefined;
      return call.reply.header('operation-id', executionId).send(executionResource(identifier, execution));
    }),
  );
}

/**
 * Runs an asynchronous execution after its 202: the session stays busy until it ends, and the
 * outcome replaces the Running row. An engine stopping meanwhile leaves the row Running; the
 * next engine marks it failed (RequestHistory.failInterruptedExecutions).
 */
function runInBackground(call: DataPlaneCall, sessionId: string, input: ExecuteRequest, executionId: string, rowId: string): void {
  const { deps } = call;
  const pool = call.pool!;
  deps.busy.enter(sessionId);
  void (async () => {
    let outcome: ExecutionOutcome;
    try {
      outcome = await outcomeOf(call, sessionId, input);
    } catch (error) {
      console.error(`[engine] asynchronous execution ${executionId} failed:`, error);
      const message = 'The engine failed to run this execution; the error was logged.';
      outcome = { status: 'Failed', stdout: '', stderr: `${message}\n`, executionResult: '', executionTimeMs: 0, error: { code: 'InternalServerError', message } };
    }
    try {
      if (deps.stopping()) return;
      await deps.history.completeExecution(rowId, recordOf(executionId, input, outcome), { sessionId, cooldownSeconds: pool.cooldownSeconds });
    } finally {
      deps.busy.leave(sessionId);
    }
  })();
}
