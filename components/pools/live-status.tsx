'use client';
import { Badge } from '@/components/ui/badge';
import { usePoolLive } from './pool-live';

const LABELS = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' } as const;

/** Whether the page is receiving transitions as they happen. */
export function LiveStatus() {
  const { connection } = usePoolLive();
  return (
    <span data-testid="live-status" data-connection={connection} role="status">
      <Badge tone={connection === 'live' ? 'good' : 'warn'}>
        <span aria-hidden="true" className={connection === 'live' ? 'mr-1.5 inline-block size-1.5 animate-pulse rounded-full bg-current' : 'mr-1.5 inline-block size-1.5 rounded-full bg-current opacity-50'} />
        {LABELS[connection]}
      </Badge>
    </span>
  );
}
