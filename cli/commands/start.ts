import { startStack, stackOptionsFromEnv } from '../stack';
import { bold, cyan, dim, green, yellow } from '../ui';

export async function start(): Promise<void> {
  const started = performance.now();
  const options = stackOptionsFromEnv();
  const stack = await startStack(options);
  // Imported only now: the Prisma client it needs is generated during startStack.
  const { bootstrapOwner } = await import('../bootstrap');
  const owner = await bootstrapOwner();
  console.log(`\n${green(bold('Sandpool is running'))} ${dim(`(ready in ${((performance.now() - started) / 1000).toFixed(1)}s)`)}`);
  console.log(`  Portal          ${cyan(options.publicUrl)}`);
  console.log(`  Token endpoint  ${cyan(`${options.publicUrl}/oauth2/v2.0/token`)}`);
  console.log(`  Engine          ${cyan(stack.engineUrl)}`);
  if (owner.created) {
    console.log(`\n  First Owner     ${bold(owner.email)}`);
    if (owner.generatedPassword) {
      console.log(`  Password        ${bold(owner.generatedPassword)}`);
      console.log(yellow('  This password is shown only once. Sign in and change it under Account.'));
    }
  }
  console.log(dim('\nPress Ctrl-C to stop.'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal} received: stopping the portal, the engine and Postgres…`);
    await stack.stop();
    console.log('Stopped. Your data is kept in .sandpool/; containerd keeps running.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // If a child dies on its own, say so and bring everything down rather than half-running.
  const firstExit = await Promise.race(stack.processes.map((child) => child.exited.then((code) => ({ name: child.name, code }))));
  if (!stopping) {
    console.error(`\nThe ${firstExit.name} exited unexpectedly (code ${firstExit.code}); stopping Sandpool.`);
    await stack.stop();
    process.exit(1);
  }
}
