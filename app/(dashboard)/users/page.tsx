import type { Metadata } from 'next';
import { Badge } from '@/components/ui/badge';
import { Card, CardHeader, EmptyState, PageHeader } from '@/components/ui/card';
import { ActionButton } from '@/components/ui/action-button';
import { RoleList } from '@/components/ui/role-list';
import { Table, Td, Th } from '@/components/ui/table';
import { Time } from '@/components/ui/time';
import { can } from '@/lib/auth/access';
import { requirePrincipal } from '@/lib/auth/session';
import { listUsers } from '@/lib/services/users';
import { CreateUserForm } from './_components/create-user-form';
import { disableUserAction, enableUserAction } from './actions';
import { Forbidden } from '@/components/shell/forbidden';

export const metadata: Metadata = { title: 'Users' };

export default async function UsersPage() {
  const principal = await requirePrincipal();
  if (!can(principal, 'principals.read')) return <Forbidden what="the list of users" />;
  const canWrite = can(principal, 'principals.write');
  const users = await listUsers(principal);
  return (
    <>
      <PageHeader title="Users" description="People who sign in to the portal. What they may do comes from their role assignments." />
      {canWrite ? (
        <Card className="mb-6">
          <CardHeader title="Create a user" description="New users have no role until you assign one." />
          <CreateUserForm />
        </Card>
      ) : null}
      <Card>
        <CardHeader title={`${users.length} ${users.length === 1 ? 'user' : 'users'}`} />
        {users.length === 0 ? (
          <EmptyState title="No users yet" />
        ) : (
          <Table label="Users">
            <thead>
              <tr>
                <Th>User</Th>
                <Th>Roles</Th>
                <Th>Status</Th>
                <Th>Last sign-in</Th>
                {canWrite ? <Th className="text-right">Actions</Th> : null}
              </tr>
            </thead>
            <tbody>
              {users.map((user) => (
                <tr key={user.id}>
                  <Td>
                    <div className="font-medium">{user.displayName}</div>
                    <div className="text-zinc-500 dark:text-zinc-400">{user.email}</div>
                  </Td>
                  <Td>
                    <RoleList roles={user.roles} />
                  </Td>
                  <Td>{user.disabled ? <Badge tone="bad">Disabled</Badge> : <Badge tone="good">Active</Badge>}</Td>
                  <Td>
                    <Time value={user.lastSignInAt} fallback="Never" />
                  </Td>
                  {canWrite ? (
                    <Td className="text-right">
                      {user.id === principal.id ? <span className="text-xs text-zinc-400">You</span> : (
                        <ActionButton
                          action={user.disabled ? enableUserAction : disableUserAction}
                          fields={{ userId: user.id }}
                          label={user.disabled ? 'Enable' : 'Disable'}
                          ariaLabel={`${user.disabled ? 'Enable' : 'Disable'} ${user.email}`}
                          variant={user.disabled ? 'secondary' : 'danger'}
                        />
                      )}
                    </Td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
