// CPU time by component (the engine process, Postgres, the sandboxes, containerd and its shims,
// this bench process), so a benchmark can say where a burst's CPU went on a machine whose cores
// every part shares. Linux only; precise to the microsecond (schedstat and cpuacct, not ticks).
import { readdirSync, readFileSync } from 'node:fs';

export type CpuSnapshot = Record<'engine' | 'postgres' | 'sandboxes' | 'containerd' | 'client', number>;

/** On-CPU time of every thread of `pid`, in ms (threads that ended are not counted). */
function threadsCpuMs(pid: number | string): number {
  let nanoseconds = 0;
  try {
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanoseconds += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // the process ended
  }
  return nanoseconds / 1e6;
}

function processesNamed(prefixes: string[]): string[] {
  return readdirSync('/proc').filter((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      const name = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      return prefixes.some((prefix) => name.startsWith(prefix));
    } catch {
      return false;
    }
  });
}

/** Every sandbox of the namespace sits in one parent cgroup (engine/runtime/spec.ts). */
function sandboxesCpuMs(namespace: string): number {
  try {
    return Number(readFileSync(`/sys/fs/cgroup/cpuacct/${namespace}/cpuacct.usage`, 'utf8')) / 1e6;
  } catch {
    const stat = readFileSync(`/sys/fs/cgroup/${namespace}/cpu.stat`, 'utf8');
    return Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0) / 1e3;
  }
}

export function cpuSnapshot(enginePid: number, namespace = 'sandpool'): CpuSnapshot {
  const sum = (pids: string[]) => pids.reduce((total, pid) => total + threadsCpuMs(pid), 0);
  const own = process.cpuUsage();
  return {
    engine: threadsCpuMs(enginePid),
    postgres: sum(processesNamed(['postgres'])),
    sandboxes: sandboxesCpuMs(namespace),
    containerd: sum(processesNamed(['containerd'])),
    client: (own.user + own.system) / 1e3,
  };
}

/** CPU ms each component used between two snapshots, divided by `per` (e.g. per request). */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot, per = 1): CpuSnapshot {
  const spent = (key: keyof CpuSnapshot) => Number(((after[key] - before[key]) / per).toFixed(2));
  return { engine: spent('engine'), postgres: spent('postgres'), sandboxes: spent('sandboxes'), containerd: spent('containerd'), client: spent('client') };
}
