// Running code in a session's kernel, shared by the legacy `code/execute` and `/executions`:
// the agent call with its timeout, a lost sandbox replaced, and the result in Azure's terms.
import { AgentUnavailableError, type ExecutionResult } from '../agent/client';
import type { DataPlaneCall } from './context';
import type { ExecutionError, ExecutionStatus } from './history';

/**
 * Runs `code` in the session's kernel. Resolves with the agent's result (Success, Failure or
 * Timeout); rejects with a DataPlaneError when the sandbox stopped answering (it is replaced).
 */
export async function runCode(call: DataPlaneCall, sessionId: string, input: { code: string; timeoutSeconds: number }): Promise<ExecutionResult> {
  try {
    return await call.timed('agent', () => call.deps.sandboxes.agent(sessionId).execute({ code: input.code, timeoutMs: input.timeoutSeconds * 1000 }));
  } catch (error) {
    if (error instanceof AgentUnavailableError) throw await call.sandboxLost(sessionId, error, 'its variables and files');
    throw error;
  }
}

/**
 * The value of the cell as Azure returns it: a PNG figure as `{type, format, base64_data}`,
 * otherwise the last expression's value, and `""` when the cell ended with a statement.
 */
export function executionResultOf(execution: ExecutionResult): unknown {
  const image = execution.displays.find((display) => display.mimeType === 'image/png');
  if (image) return { type: 'image', format: 'png', base64_data: image.data };
  return execution.result ?? '';
}

/** An execution in the terms of the new contract (reference §4.3.1). */
export type ExecutionOutcome = {
  status: ExecutionStatus;
  stdout: string;
  stderr: string;
  executionResult: unknown;
  executionTimeMs: number;
  error?: ExecutionError;
};

/** The agent's result as `/executions` reports it: failing code is a Failed execution, not an HTTP error. */
export function executionOutcome(execution: ExecutionResult, options: { outputStreamsMaxLength: number; returnJupyterFormat: boolean }): ExecutionOutcome {
  const cut = (text: string) => cutCharacters(text, options.outputStreamsMaxLength);
  return {
    status: execution.status === 'Success' ? 'Succeeded' : 'Failed',
    stdout: cut(execution.stdout),
    stderr: cut(execution.stderr),
    executionResult: jupyterFormat(executionResultOf(execution), execution.result, options.returnJupyterFormat),
    executionTimeMs: execution.executionTimeMs,
    error: errorOf(execution),
  };
}

function errorOf(execution: ExecutionResult): ExecutionError | undefined {
  if (execution.status === 'Timeout') {
    return { code: 'ExecutionTimeout', message: `Request timed out waiting for code execution to complete. ${execution.stderr.trim().split('\n').at(-1) ?? ''}`.trim() };
  }
  if (execution.status === 'Failure') {
    const name = execution.error?.name ?? 'ExecutionFailed';
    return { code: name, message: execution.error ? `${execution.error.name}: ${execution.error.value}` : 'The code failed; see stderr.' };
  }
  return undefined;
}

/**
 * With returnJupyterFormatExecutionResult, "no value" is null rather than "", and numbers and
 * booleans are their JSON text, as a Jupyter client receives them.
 */
function jupyterFormat(result: unknown, rawValue: unknown, enabled: boolean): unknown {
  if (!enabled) return result;
  if (rawValue === null || rawValue === undefined) return result === '' ? null : result;
  return typeof result === 'number' || typeof result === 'boolean' ? JSON.stringify(result) : result;
}

/** The first `max` characters of `text`, never splitting a surrogate pair. */
export function cutCharacters(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = max > 0 && /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return text.slice(0, end);
}
