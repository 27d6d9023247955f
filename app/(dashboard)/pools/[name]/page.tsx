import type { Metadata } from 'next';
import { Breadcrumbs } from '@/components/pools/breadcrumbs';
import { ButtonLink } from '@/components/pools/button-link';
import { DeletePoolButton } from '@/components/pools/delete-pool-button';
import { EndpointCard } from '@/components/pools/endpoint-card';
import { EventLog } from '@/components/pools/event-log';
import { LiveLanes } from '@/components/pools/live-lanes';
import { LiveStatus } from '@/components/pools/live-status';
import { OccupancyChart } from '@/components/pools/occupancy-chart';
import { PoolLiveProvider } from '@/components/pools/pool-live';
import { PoolUnavailable } from '@/components/pools/pool-unavailable';
import { SettingsCard } from '@/components/pools/settings-card';
import { Badge } from '@/components/ui/badge';
import { Card, CardHeader, PageHeader } from '@/components/ui/card';
import { can } from '@/lib/auth/access';
import { poolScope } from '@/lib/auth/scope';
import { requirePrincipal } from '@/lib/auth/session';
import { env } from '@/lib/env';
import { getPoolLiveSnapshot, readPoolForPage } from '@/lib/services/pool-views';
import { deletePoolAction } from '../actions';

export async function generateMetadata({ params }: { params: Promise<{ name: string }> }): Promise<Metadata> {
  return { title: (await params).name };
}

const NOTICES: Record<string, string> = {
  created: 'Pool created. The engine is starting its ready sessions; watch them arrive below.',
  saved: 'Settings saved. The engine adjusts the sessions to match.',
};

export default async function PoolPage({ params, searchParams }: { params: Promise<{ name: string }>; searchParams: Promise<Record<string, string | undefined>> }) {
  const { name } = await params;
  const principal = await requirePrincipal();
  const { pool, problem } = await readPoolForPage(principal, name);
  if (problem) return <PoolUnavailable name={name} problem={problem} />;
  const snapshot = await getPoolLiveSnapshot(principal, pool);
  const isDeleting = pool.provisioningState === 'Deleting';
  const canWrite = can(principal, 'pools.write', poolScope(pool.name)) && !isDeleting;
  const shown = await searchParams;
  const notice = Object.keys(NOTICES).find((key) => shown[key]);
  return (
    <PoolLiveProvider poolName={pool.name} snapshot={snapshot} isDeleting={isDeleting}>
      <Breadcrumbs trail={[{ href: '/pools', label: 'Pools' }, { label: pool.name }]} />
      <PageHeader
        title={pool.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            {isDeleting ? <Badge tone="bad">Deleting: draining sessions</Badge> : <Badge tone="good">Active</Badge>}
            <span>
              {pool.containerType} · {pool.isolation} · up to {pool.maxConcurrentSessions} sessions, {pool.readySessionInstances} kept ready
            </span>
          </span>
        }
        actions={
          canWrite ? (
            <div className="flex gap-2">
              <ButtonLink href={`/pools/${pool.name}/edit`} variant="secondary">
                Edit settings
              </ButtonLink>
              <DeletePoolButton name={pool.name} counts={pool.sessions} action={deletePoolAction} />
            </div>
          ) : null
        }
      />
      {notice && !isDeleting ? (
        <p role="status" className="mb-6 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300">
          {NOTICES[notice]}
        </p>
      ) : null}
      <div className="space-y-6">
        <Card>
          <CardHeader
            title="Sessions"
            description={
              snapshot.showsIdentifiers
                ? 'Each transition appears here within a second.'
                : 'Each transition appears here within a second. Identifiers are shown only to those who may use the pool (Session Executor or Owner).'
            }
            actions={<LiveStatus />}
          />
          <div className="p-4">
            <LiveLanes />
          </div>
        </Card>
        <div className="grid items-start gap-6 xl:grid-cols-[minmax(0,1fr)_minmax(0,1fr)]">
          <Card>
            <CardHeader title="Ready and allocated, last hour" />
            <OccupancyChart />
          </Card>
          <Card>
            <CardHeader title="Recent events" />
            <EventLog />
          </Card>
        </div>
        <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_22rem]">
          <EndpointCard endpoint={pool.poolManagementEndpoint} portalUrl={env().SANDPOOL_PUBLIC_URL.replace(/\/+$/, '')} />
          <SettingsCard
            pool={pool}
            actions={
              canWrite ? null : (
                <ButtonLink href={`/pools/${pool.name}/edit`} variant="secondary" className="px-2.5! py-1! text-xs!">
                  View all
                </ButtonLink>
              )
            }
          />
        </div>
      </div>
    </PoolLiveProvider>
  );
}
