import { describe, expect, it } from 'vitest';
import { HostCommandError, hostCommandsPid, runHostCommand } from './host-commands';

describe('host commands run from a helper process', () => {
  it('returns what the command printed', async () => {
    await expect(runHostCommand('sh', ['-c', 'echo out; echo err >&2'])).resolves.toEqual({ stdout: 'out\n', stderr: 'err\n' });
    expect(hostCommandsPid()).not.toBe(process.pid);
  });

  it('rejects with the exit code and stderr of a failing command', async () => {
    const error = await runHostCommand('sh', ['-c', 'echo broken >&2; exit 3']).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostCommandError);
    expect(error).toMatchObject({ code: 3, stderr: 'broken\n' });
    const missing = await runHostCommand('/nonexistent/command', []).catch((caught: unknown) => caught);
    expect(missing).toMatchObject({ code: 'ENOENT' });
  });

  it('kills a command that outlives its timeout', async () => {
    const started = performance.now();
    await expect(runHostCommand('sleep', ['5'], { timeoutMs: 200 })).rejects.toBeInstanceOf(HostCommandError);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('fails what was in flight when the helper dies, and starts a new helper for the next command', async () => {
    await runHostCommand('true', []);
    const first = hostCommandsPid()!;
    const inFlight = runHostCommand('sleep', ['5']);
    process.kill(first, 'SIGKILL');
    await expect(inFlight).rejects.toThrow(/helper process exited/);
    await expect(runHostCommand('echo', ['again'])).resolves.toMatchObject({ stdout: 'again\n' });
    expect(hostCommandsPid()).not.toBe(first);
  });
});
