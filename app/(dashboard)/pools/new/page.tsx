import type { Metadata } from 'next';
import { Breadcrumbs } from '@/components/pools/breadcrumbs';
import { PoolForm } from '@/components/pools/pool-form';
import { Forbidden } from '@/components/shell/forbidden';
import { Card, PageHeader } from '@/components/ui/card';
import { canAnywhere } from '@/lib/auth/access';
import { requirePrincipal } from '@/lib/auth/session';
import { POOL_DEFAULTS } from '@/lib/validations/pool';
import { createPoolAction } from '../actions';

export const metadata: Metadata = { title: 'Create a pool' };

export default async function NewPoolPage() {
  const principal = await requirePrincipal();
  if (!canAnywhere(principal, 'pools.write')) return <Forbidden what="the form to create pools (Contributor or Owner only)" />;
  return (
    <>
      <Breadcrumbs trail={[{ href: '/pools', label: 'Pools' }, { label: 'Create' }]} />
      <PageHeader title="Create a pool" description="The engine starts the ready sessions as soon as the pool exists. Defaults are Azure's." />
      <Card>
        <PoolForm mode="create" values={{ name: '', ...POOL_DEFAULTS }} action={createPoolAction} />
      </Card>
    </>
  );
}
