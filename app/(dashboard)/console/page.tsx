import type { Metadata } from 'next';
import Link from 'next/link';
import { CodeConsole } from '@/components/console/code-console';
import { Forbidden } from '@/components/shell/forbidden';
import { Card, EmptyState, PageHeader } from '@/components/ui/card';
import { canAnywhere } from '@/lib/auth/access';
import { requirePrincipal } from '@/lib/auth/session';
import { consoleIdentifier, listConsolePools } from '@/lib/services/sessions';
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from '@/engine/dataplane/requests';

export const metadata: Metadata = { title: 'Console' };

export default async function ConsolePage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const principal = await requirePrincipal();
  if (!canAnywhere(principal, 'sessions.execute')) return <Forbidden what="the code console (it takes the Session Executor role on a pool)" />;
  const pools = await listConsolePools(principal);
  const requested = (await searchParams).pool;
  const initialPool = pools.find((pool) => pool.name === requested)?.name ?? pools[0]?.name;
  return (
    <>
      <PageHeader
        title="Code console"
        description="Run Python in a pool's sandboxes, as an API client would: the same data plane, with your identity. Runs with the same identifier share a session, so variables and files persist until it cools down."
      />
      {initialPool ? (
        <CodeConsole pools={pools} initialPool={initialPool} defaultIdentifier={consoleIdentifier(principal)} timeout={{ default: DEFAULT_TIMEOUT_SECONDS, max: MAX_TIMEOUT_SECONDS }} />
      ) : (
        <Card>
          <EmptyState title="No pool to run code in">
            There is no pool where you hold Session Executor or Owner.{' '}
            <Link href="/pools" className="text-sky-700 hover:underline dark:text-sky-400">
              See the pools
            </Link>{' '}
            and ask an Owner for a role on one.
          </EmptyState>
        </Card>
      )}
    </>
  );
}
