import { afterEach, describe, expect, it } from 'vitest';
import { EngineAlreadyRunningError, EngineLock } from './engine-lock';

const locks: EngineLock[] = [];
const newLock = () => {
  const lock = new EngineLock(process.env.DATABASE_URL!, () => {});
  locks.push(lock);
  return lock;
};

afterEach(async () => {
  for (const lock of locks.splice(0)) await lock.release();
});

describe('one engine per database', () => {
  it('refuses a second engine, naming the connection that holds the lock, and lets one in after release', async () => {
    const first = newLock();
    await first.acquire();
    const refused = await newLock()
      .acquire()
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EngineAlreadyRunningError);
    expect((refused as Error).message).toMatch(/Another Sandpool engine is already running against this database \(its database connection is Postgres backend \d+, from .+, since .+\)\. .*Stop the other engine first/);

    await first.release();
    await expect(newLock().acquire()).resolves.toBeUndefined();
  });
});
