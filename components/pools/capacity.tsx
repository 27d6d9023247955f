import { cn } from '@/lib/ui/cn';

/** Allocated sessions against the pool's cap, as text and a bar (the bar is decoration). */
export function Capacity({ allocated, max }: { allocated: number; max: number }) {
  const share = Math.min(1, allocated / max);
  return (
    <div className="min-w-24">
      <div className="tabular-nums">
        {allocated} / {max}
      </div>
      <div aria-hidden="true" className="mt-1 h-1.5 w-full overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800">
        <div className={cn('h-full rounded-full', share >= 1 ? 'bg-red-500' : share >= 0.8 ? 'bg-amber-500' : 'bg-sky-500')} style={{ width: `${share * 100}%` }} />
      </div>
    </div>
  );
}
