import { describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../agent/client';
import { cutCharacters, executionOutcome } from './execution';
import { truncateUtf8 } from './history';

function agentResult(overrides: Partial<ExecutionResult>): ExecutionResult {
  return { status: 'Success', stdout: '', stderr: '', result: null, displays: [], executionTimeMs: 3, executionCount: 1, ...overrides };
}

const plain = { outputStreamsMaxLength: 4096, returnJupyterFormat: false };
const jupyter = { outputStreamsMaxLength: 4096, returnJupyterFormat: true };

describe('executionOutcome', () => {
  it('maps the agent statuses to Azure\'s, with an error for what failed', () => {
    expect(executionOutcome(agentResult({ result: 42 }), plain)).toEqual({ status: 'Succeeded', stdout: '', stderr: '', executionResult: 42, executionTimeMs: 3, error: undefined });
    const failed = executionOutcome(agentResult({ status: 'Failure', stderr: 'Traceback…\nKeyError: 1\n', error: { name: 'KeyError', value: '1', traceback: [] } }), plain);
    expect(failed).toMatchObject({ status: 'Failed', error: { code: 'KeyError', message: 'KeyError: 1' } });
    const timedOut = executionOutcome(agentResult({ status: 'Timeout', stderr: 'Execution timed out after 2 s; the kernel was interrupted.\n' }), plain);
    expect(timedOut).toMatchObject({ status: 'Failed', error: { code: 'ExecutionTimeout', message: 'Request timed out waiting for code execution to complete. Execution timed out after 2 s; the kernel was interrupted.' } });
  });

  it('returns "" for no value, or null and JSON text for numbers and booleans in Jupyter format', () => {
    expect(executionOutcome(agentResult({ result: null }), plain).executionResult).toBe('');
    expect(executionOutcome(agentResult({ result: null }), jupyter).executionResult).toBeNull();
    expect(executionOutcome(agentResult({ result: 4 }), jupyter).executionResult).toBe('4');
    expect(executionOutcome(agentResult({ result: true }), jupyter).executionResult).toBe('true');
    expect(executionOutcome(agentResult({ result: 'text' }), jupyter).executionResult).toBe('text');
    expect(executionOutcome(agentResult({ result: [1, 2] }), jupyter).executionResult).toEqual([1, 2]);
  });

  it('returns a PNG display as an image result', () => {
    const outcome = executionOutcome(agentResult({ displays: [{ mimeType: 'image/png', data: 'iVBOR' }] }), jupyter);
    expect(outcome.executionResult).toEqual({ type: 'image', format: 'png', base64_data: 'iVBOR' });
  });

  it('cuts stdout and stderr to outputStreamsMaxLength characters', () => {
    const outcome = executionOutcome(agentResult({ stdout: 'x'.repeat(10), stderr: 'é'.repeat(10) }), { outputStreamsMaxLength: 4, returnJupyterFormat: false });
    expect(outcome).toMatchObject({ stdout: 'xxxx', stderr: 'éééé' });
  });
});

describe('cutCharacters and truncateUtf8', () => {
  it('never split a character', () => {
    expect(cutCharacters('a😀b', 2)).toBe('a');
    expect(cutCharacters('a😀b', 3)).toBe('a😀');
    expect(cutCharacters('abc', 0)).toBe('');
    expect(truncateUtf8('é'.repeat(10), 5)).toBe('éé');
    expect(truncateUtf8('a😀', 4)).toBe('a');
    expect(truncateUtf8('short', 64)).toBe('short');
    expect(Buffer.byteLength(truncateUtf8('€'.repeat(100_000), 65_536))).toBe(65_535);
  });
});
