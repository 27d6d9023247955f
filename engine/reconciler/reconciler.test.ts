import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { SandboxManager } from '../sandboxes';
import type { SandboxRuntime } from '../runtime/types';
import { NUDGE_INTERVAL_MS, Reconciler } from './reconciler';

describe('reconciler nudges', () => {
  it('run one pass for a burst of nudges, one more when the interval ends, and none after', async () => {
    let passes = 0;
    // Only the pass count matters here: a database with no pools and no sessions.
    const db = {
      query: async (text: string) => {
        if (/FROM session_pools$/.test(text.trim())) passes += 1;
        return { rows: [], rowCount: 0 };
      },
    } as unknown as pg.Pool;
    const reconciler = new Reconciler({ db, runtime: {} as SandboxRuntime, sandboxes: {} as SandboxManager, busySessions: () => [], log: () => {} });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    for (let claim = 0; claim < 10; claim += 1) reconciler.nudge();
    await sleep(NUDGE_INTERVAL_MS / 4);
    expect(passes).toBe(1);
    for (let claim = 0; claim < 10; claim += 1) reconciler.nudge();
    await sleep(NUDGE_INTERVAL_MS + 50);
    expect(passes).toBe(2);
    await sleep(NUDGE_INTERVAL_MS + 50);
    expect(passes).toBe(2);
    // Long after the last pass, a nudge is acted on at once.
    reconciler.nudge();
    await sleep(5);
    expect(passes).toBe(3);
    await reconciler.stop();
  });
});
