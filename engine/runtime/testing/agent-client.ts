// Host side of the test agent (agent.pl): sends a shell script over the bind-mounted Unix
// socket and returns what the sandbox printed, plus the script's exit status.
import { connect } from 'node:net';
import { join } from 'node:path';

export const AGENT_SOCKET = 'agent.sock';
const EXIT_MARKER = '__sandpool_exit=';

export type ShellResult = { output: string; exitCode: number | null };

/** Runs `script` with /bin/sh inside the sandbox; exitCode is null when the shell died before reporting one. */
export function agentShell(agentSocketDir: string, script: string, timeoutMs = 20_000): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(join(agentSocketDir, AGENT_SOCKET));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the sandbox did not finish the script within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const marker = text.lastIndexOf(EXIT_MARKER);
      if (marker < 0) return resolve({ output: text, exitCode: null });
      resolve({ output: text.slice(0, marker), exitCode: Number.parseInt(text.slice(marker + EXIT_MARKER.length), 10) });
    });
    // A subshell, so `exit` in the script still reaches the marker line.
    socket.end(`(\n${script}\n)\necho "${EXIT_MARKER}$?"\n`);
  });
}

/** Polls until the agent accepts connections and runs a command (it starts after the task does). */
export async function waitForAgent(agentSocketDir: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const result = await agentShell(agentSocketDir, 'echo ready', 5_000);
      if (result.output.trim() === 'ready') return;
      lastError = new Error(`unexpected answer ${JSON.stringify(result.output)}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the agent in ${agentSocketDir} did not answer within ${timeoutMs} ms: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}
