import type { Role } from '@/lib/auth/permissions';
import { RoleBadge } from './role-badge';

export function RoleList({ roles }: { roles: { role: string; scope: string }[] }) {
  if (roles.length === 0) return <span className="text-zinc-400">No roles</span>;
  return (
    <div className="flex flex-wrap gap-1">
      {roles.map((role) => (
        <RoleBadge key={`${role.role}${role.scope}`} role={role.role as Role} scope={role.scope} />
      ))}
    </div>
  );
}
