import { Badge, type BadgeTone } from '@/components/ui/badge';

export const LANE_STATES = ['PENDING', 'READY', 'ALLOCATED', 'DELETING'] as const;
export type LaneState = (typeof LANE_STATES)[number];

export const STATE_LABELS: Record<string, string> = {
  PENDING: 'Pending',
  READY: 'Ready',
  ALLOCATED: 'Allocated',
  DELETING: 'Deleting',
  DELETED: 'Deleted',
  FAILED: 'Failed',
};

export const STATE_TONES: Record<string, BadgeTone> = {
  PENDING: 'warn',
  READY: 'good',
  ALLOCATED: 'info',
  DELETING: 'neutral',
  DELETED: 'neutral',
  FAILED: 'bad',
};

/** A session state with its colour; the label carries the meaning without colour. */
export function StateBadge({ state }: { state: string }) {
  return <Badge tone={STATE_TONES[state] ?? 'neutral'}>{STATE_LABELS[state] ?? state}</Badge>;
}

/** A timestamp as HH:MM:SS UTC, the same on server and client. */
export function clockTime(iso: string): string {
  return `${iso.slice(11, 19)} UTC`;
}
