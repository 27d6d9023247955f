// Console output for long-running operator commands: every step says what it is
// doing, how long it took, and — when it fails — what to do about it.
import { AppError } from '../lib/errors';

const isTty = process.stdout.isTTY === true;
const paint = (code: number) => (text: string) => (isTty ? `\x1b[${code}m${text}\x1b[0m` : text);
export const bold = paint(1);
export const dim = paint(2);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const cyan = paint(36);

/** A failure an operator can fix: `fix` says how. */
export class StepError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)}s`;
}

/** Runs one named step, printing its start, its duration, and a readable failure. */
export async function step<T>(title: string, run: (progress: (detail: string) => void) => Promise<T>): Promise<T> {
  const started = performance.now();
  console.log(`${cyan('→')} ${title}…`);
  const progress = (detail: string) => console.log(`  ${dim(detail)}`);
  try {
    const result = await run(progress);
    console.log(`${green('✓')} ${title} ${dim(`(${seconds(started)})`)}`);
    return result;
  } catch (error) {
    console.error(`${red('✗')} ${title} failed ${dim(`(${seconds(started)})`)}`);
    throw error;
  }
}

/** Prints an error for a person and returns the process exit code. */
export function reportFatal(error: unknown): number {
  if (error instanceof AppError) {
    console.error(`\n${red(bold('Error:'))} ${error.message}`);
    return 2;
  }
  if (error instanceof StepError) {
    console.error(`\n${red(bold('Error:'))} ${error.message}`);
    if (error.fix) console.error(`${yellow('How to fix:')} ${error.fix}`);
  } else {
    console.error(`\n${red(bold('Unexpected error:'))}`, error);
  }
  return 1;
}
