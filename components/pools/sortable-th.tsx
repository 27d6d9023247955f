import Link from 'next/link';
import { Th } from '@/components/ui/table';
import type { PoolListQuery, PoolSortKey } from '@/lib/services/pool-views';
import { cn } from '@/lib/ui/cn';

/** The href of the pool list with these parameters; defaults are left out to keep URLs short. */
export function poolListHref(query: PoolListQuery): string {
  const params = new URLSearchParams();
  if (query.search) params.set('q', query.search);
  if (query.sort !== 'name') params.set('sort', query.sort);
  if (query.direction === 'desc') params.set('dir', 'desc');
  const text = params.toString();
  return text ? `/pools?${text}` : '/pools';
}

/** A column header that sorts by its column; a second click reverses the order. */
export function SortableTh({ column, query, children, className }: { column: PoolSortKey; query: PoolListQuery; children: string; className?: string }) {
  const isActive = query.sort === column;
  const next = isActive && query.direction === 'asc' ? 'desc' : 'asc';
  return (
    <Th className={className} aria-sort={isActive ? (query.direction === 'asc' ? 'ascending' : 'descending') : undefined}>
      <Link
        href={poolListHref({ ...query, sort: column, direction: next })}
        // Each prefetch renders the whole list on the server again; nine of them on every view
        // cost more than the click they would save (bench/portal-first-paint.ts shows it).
        prefetch={false}
        className={cn('inline-flex items-center gap-1 hover:text-zinc-900 dark:hover:text-white', isActive && 'text-zinc-900 dark:text-white')}
        title={`Sort by ${children.toLowerCase()}, ${next === 'asc' ? 'ascending' : 'descending'}`}
      >
        {children}
        <span aria-hidden="true" className={cn('text-[10px]', !isActive && 'opacity-30')}>
          {isActive && query.direction === 'desc' ? '▼' : '▲'}
        </span>
      </Link>
    </Th>
  );
}
