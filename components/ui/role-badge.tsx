import { ROLE_LABELS, type Role } from '@/lib/auth/permissions';
import { Badge, type BadgeTone } from './badge';

const ROLE_TONES: Record<Role, BadgeTone> = { OWNER: 'info', CONTRIBUTOR: 'warn', SESSION_EXECUTOR: 'good', READER: 'neutral' };

export function RoleBadge({ role, scope }: { role: Role; scope?: string }) {
  return (
    <Badge tone={ROLE_TONES[role]}>
      {ROLE_LABELS[role]}
      {scope ? <span className="ml-1 font-normal opacity-80">{` at ${scope}`}</span> : null}
    </Badge>
  );
}
