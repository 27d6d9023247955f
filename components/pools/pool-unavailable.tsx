import Link from 'next/link';
import { Forbidden } from '@/components/shell/forbidden';
import { Card, EmptyState } from '@/components/ui/card';

export function PoolUnavailable({ name, problem }: { name: string; problem: 'forbidden' | 'notFound' }) {
  if (problem === 'forbidden') return <Forbidden what={`pool ${name}`} />;
  return (
    <Card>
      <EmptyState title={`There is no pool named ${name}`}>
        It may have been deleted.{' '}
        <Link href="/pools" className="text-sky-700 hover:underline dark:text-sky-400">
          See all pools
        </Link>
        .
      </EmptyState>
    </Card>
  );
}
