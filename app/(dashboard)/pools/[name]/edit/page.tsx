import type { Metadata } from 'next';
import { Breadcrumbs } from '@/components/pools/breadcrumbs';
import { PoolForm } from '@/components/pools/pool-form';
import { PoolUnavailable } from '@/components/pools/pool-unavailable';
import { Card, PageHeader } from '@/components/ui/card';
import { can } from '@/lib/auth/access';
import { poolScope } from '@/lib/auth/scope';
import { requirePrincipal } from '@/lib/auth/session';
import { readPoolForPage } from '@/lib/services/pool-views';
import { updatePoolAction } from '../../actions';

export async function generateMetadata({ params }: { params: Promise<{ name: string }> }): Promise<Metadata> {
  return { title: `Settings of ${(await params).name}` };
}

export default async function EditPoolPage({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  const principal = await requirePrincipal();
  const { pool, problem } = await readPoolForPage(principal, name);
  if (problem) return <PoolUnavailable name={name} problem={problem} />;
  const isDeleting = pool.provisioningState === 'Deleting';
  const canWrite = can(principal, 'pools.write', poolScope(pool.name)) && !isDeleting;
  return (
    <>
      <Breadcrumbs trail={[{ href: '/pools', label: 'Pools' }, { href: `/pools/${pool.name}`, label: pool.name }, { label: 'Settings' }]} />
      <PageHeader
        title={`Settings of ${pool.name}`}
        description={
          canWrite
            ? 'Changes apply at once: the engine starts or removes sessions to match.'
            : isDeleting
              ? 'The pool is being deleted; its settings can no longer change.'
              : 'You can see these settings but not change them: that needs the Contributor or Owner role on this pool.'
        }
      />
      <Card>
        <PoolForm
          mode="edit"
          readOnly={!canWrite}
          action={updatePoolAction}
          values={{
            name: pool.name,
            containerType: pool.containerType,
            isolation: pool.isolation,
            maxConcurrentSessions: pool.maxConcurrentSessions,
            readySessionInstances: pool.readySessionInstances,
            cooldownPeriodInSeconds: pool.cooldownPeriodInSeconds,
            networkStatus: pool.networkStatus,
            cpu: pool.cpu,
            memoryGi: pool.memoryGi,
          }}
        />
      </Card>
    </>
  );
}
