import type { Metadata } from 'next';
import Link from 'next/link';
import { ButtonLink } from '@/components/pools/button-link';
import { Capacity } from '@/components/pools/capacity';
import { poolListHref, SortableTh } from '@/components/pools/sortable-th';
import { Forbidden } from '@/components/shell/forbidden';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardHeader, EmptyState, PageHeader } from '@/components/ui/card';
import { CopyButton } from '@/components/ui/copy-button';
import { TextField } from '@/components/ui/field';
import { Table, Td, Th } from '@/components/ui/table';
import { canAnywhere } from '@/lib/auth/access';
import { requirePrincipal } from '@/lib/auth/session';
import { listPoolsForView, parsePoolListQuery } from '@/lib/services/pool-views';

export const metadata: Metadata = { title: 'Pools' };

// Ten columns have to fit a laptop screen: tighter cells than the shared table's default.
const CELL = 'px-3!';

const COUNT_COLUMNS = [
  { key: 'pending', label: 'Pending' },
  { key: 'ready', label: 'Ready' },
  { key: 'allocated', label: 'Allocated' },
  { key: 'deleting', label: 'Deleting' },
] as const;

export default async function PoolsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const principal = await requirePrincipal();
  if (!canAnywhere(principal, 'pools.read')) return <Forbidden what="session pools" />;
  const query = parsePoolListQuery(await searchParams);
  const { pools, total } = await listPoolsForView(principal, query);
  const canCreate = canAnywhere(principal, 'pools.write');
  return (
    <>
      <PageHeader
        title="Pools"
        description="Each pool keeps sandboxes warm and hands one to every new session identifier. Clients call the pool's endpoint with Azure's data-plane API."
        actions={canCreate ? <ButtonLink href="/pools/new">Create pool</ButtonLink> : null}
      />
      <Card>
        <CardHeader
          title={query.search ? `${pools.length} of ${total} ${total === 1 ? 'pool' : 'pools'}` : `${total} ${total === 1 ? 'pool' : 'pools'}`}
          actions={
            <form method="get" action="/pools" role="search" aria-label="Search pools" className="flex items-end gap-2">
              <TextField label="Name contains" name="q" type="search" defaultValue={query.search} autoComplete="off" className="w-56" />
              {query.sort !== 'name' ? <input type="hidden" name="sort" value={query.sort} /> : null}
              {query.direction === 'desc' ? <input type="hidden" name="dir" value="desc" /> : null}
              <Button type="submit" variant="secondary">
                Search
              </Button>
              {query.search ? (
                <Link href={poolListHref({ ...query, search: '' })} className="py-2 text-sm text-sky-700 hover:underline dark:text-sky-400">
                  Clear
                </Link>
              ) : null}
            </form>
          }
        />
        {pools.length === 0 ? (
          query.search ? (
            <EmptyState title={`No pool name contains "${query.search}"`}>Try a shorter part of the name, or clear the search.</EmptyState>
          ) : (
            <EmptyState title="No pools yet">
              {canCreate ? (
                <>
                  <Link href="/pools/new" className="text-sky-700 hover:underline dark:text-sky-400">
                    Create a pool
                  </Link>{' '}
                  to start keeping sandboxes warm.
                </>
              ) : (
                'There is no pool you may see. Ask an Owner for a role on a pool.'
              )}
            </EmptyState>
          )
        ) : (
          <Table label="Pools">
            <thead>
              <tr>
                <SortableTh column="name" query={query} className={CELL}>
                  Name
                </SortableTh>
                <SortableTh column="containerType" query={query} className={CELL}>
                  Type
                </SortableTh>
                <SortableTh column="isolation" query={query} className={CELL}>
                  Isolation
                </SortableTh>
                {COUNT_COLUMNS.map((column) => (
                  <SortableTh key={column.key} column={column.key} query={query} className={`${CELL} text-right`}>
                    {column.label}
                  </SortableTh>
                ))}
                <SortableTh column="capacity" query={query} className={CELL}>
                  Capacity
                </SortableTh>
                <Th className={CELL}>Endpoint</Th>
              </tr>
            </thead>
            <tbody>
              {pools.map((pool) => (
                <tr key={pool.id} data-testid="pool-row">
                  <Td className={CELL}>
                    {/* No prefetch: one server render per listed pool on every view of the list. */}
                    <Link href={`/pools/${pool.name}`} prefetch={false} className="font-medium text-sky-700 hover:underline dark:text-sky-400">
                      {pool.name}
                    </Link>
                    {pool.provisioningState === 'Deleting' ? (
                      <div className="mt-1">
                        <Badge tone="bad">Deleting</Badge>
                      </div>
                    ) : null}
                  </Td>
                  <Td className={CELL}>{pool.containerType}</Td>
                  <Td className={CELL}>{pool.isolation}</Td>
                  {COUNT_COLUMNS.map((column) => (
                    <Td key={column.key} className={`${CELL} text-right tabular-nums`} data-column={column.key}>
                      {pool.sessions[column.key]}
                    </Td>
                  ))}
                  <Td className={CELL}>
                    <Capacity allocated={pool.sessions.allocated} max={pool.maxConcurrentSessions} />
                  </Td>
                  <Td className={CELL}>
                    <div role="group" aria-label={`Endpoint of ${pool.name}`} className="flex items-center gap-2">
                      {/* Right to left so a long endpoint is cut at its start and the pool's own part stays visible. */}
                      <code dir="rtl" className="block max-w-44 truncate font-mono text-xs" title={pool.poolManagementEndpoint}>
                        {pool.poolManagementEndpoint}
                      </code>
                      <CopyButton value={pool.poolManagementEndpoint} />
                    </div>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
