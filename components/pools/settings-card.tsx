import type { ReactNode } from 'react';
import { Card, CardHeader } from '@/components/ui/card';
import { Time } from '@/components/ui/time';
import type { PoolDto } from '@/lib/services/pools';

function Setting({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="flex justify-between gap-4 py-2">
      <dt className="text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="text-right tabular-nums">{children}</dd>
    </div>
  );
}

export function SettingsCard({ pool, actions }: { pool: PoolDto; actions?: ReactNode }) {
  return (
    <Card>
      <CardHeader title="Settings" actions={actions} />
      <dl aria-label="Pool settings" className="divide-y divide-zinc-100 px-5 py-2 text-sm dark:divide-zinc-800">
        <Setting label="Container type">{pool.containerType}</Setting>
        <Setting label="Isolation">{pool.isolation}</Setting>
        <Setting label="Max concurrent sessions">{pool.maxConcurrentSessions}</Setting>
        <Setting label="Ready sessions">{pool.readySessionInstances}</Setting>
        <Setting label="Lifecycle">Timed, cooldown {pool.cooldownPeriodInSeconds} s</Setting>
        <Setting label="Network">{pool.networkStatus}</Setting>
        <Setting label="CPU / memory">
          {pool.cpu} cores / {pool.memoryGi} GiB
        </Setting>
        <Setting label="Generation">{pool.generation}</Setting>
        <Setting label="Created">
          <Time value={pool.createdAt} />
        </Setting>
        <Setting label="Changed">
          <Time value={pool.updatedAt} />
        </Setting>
      </dl>
    </Card>
  );
}
