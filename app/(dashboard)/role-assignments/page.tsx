import type { Metadata } from 'next';
import { Forbidden } from '@/components/shell/forbidden';
import { ActionButton } from '@/components/ui/action-button';
import { Button } from '@/components/ui/button';
import { Card, CardHeader, EmptyState, PageHeader } from '@/components/ui/card';
import { SelectField } from '@/components/ui/field';
import { RoleBadge } from '@/components/ui/role-badge';
import { Table, Td, Th } from '@/components/ui/table';
import { Time } from '@/components/ui/time';
import { can, canAnywhere, scopesWith } from '@/lib/auth/access';
import { ROLE_LABELS } from '@/lib/auth/permissions';
import { parseScope, poolScope, ROOT_SCOPE } from '@/lib/auth/scope';
import { requirePrincipal } from '@/lib/auth/session';
import { listPoolNames } from '@/lib/services/pools';
import { listAssignmentScopes, listRoleAssignments } from '@/lib/services/role-assignments';
import { listServicePrincipals } from '@/lib/services/service-principals';
import { listUsers } from '@/lib/services/users';
import { CreateRoleAssignmentForm, type PrincipalOption } from './_components/create-role-assignment-form';
import { deleteRoleAssignmentAction } from './actions';

export const metadata: Metadata = { title: 'Role assignments' };

async function principalOptions(principal: Awaited<ReturnType<typeof requirePrincipal>>): Promise<PrincipalOption[] | null> {
  if (!can(principal, 'principals.read')) return null;
  const [users, servicePrincipals] = await Promise.all([listUsers(principal), listServicePrincipals(principal)]);
  return [
    ...users.filter((user) => !user.disabled).map((user) => ({ value: `user:${user.id}`, label: `${user.displayName} (${user.email})`, group: 'Users' as const })),
    ...servicePrincipals
      .filter((sp) => sp.status === 'active')
      .map((sp) => ({ value: `servicePrincipal:${sp.id}`, label: `${sp.displayName} (${sp.clientId})`, group: 'Service principals' as const })),
  ];
}

export default async function RoleAssignmentsPage({ searchParams }: { searchParams: Promise<{ scope?: string }> }) {
  const principal = await requirePrincipal();
  if (!canAnywhere(principal, 'roleAssignments.read')) return <Forbidden what="role assignments" />;
  const { scope: scopeParam } = await searchParams;
  const parsedScope = scopeParam ? parseScope(scopeParam) : undefined;
  const scopeFilter = parsedScope?.ok ? parsedScope.canonical : undefined;
  const writableScopes = scopesWith(principal, 'roleAssignments.write');
  const canWrite = writableScopes.length > 0;
  const [assignments, usedScopes, poolNames, principals] = await Promise.all([
    listRoleAssignments(principal, { scope: scopeFilter }),
    listAssignmentScopes(principal),
    canAnywhere(principal, 'pools.read') ? listPoolNames(principal) : Promise.resolve([]),
    canWrite ? principalOptions(principal) : Promise.resolve(null),
  ]);
  const knownScopes = [...new Set([ROOT_SCOPE, ...usedScopes, ...poolNames.map(poolScope)])].sort();
  return (
    <>
      <PageHeader
        title="Role assignments"
        description='Who may do what, and where. "/" covers every pool; /sessionPools/<name> covers one pool.'
      />
      {canWrite ? (
        <Card className="mb-6">
          <CardHeader title="Add a role assignment" description="Session Executor gives access to a pool's sessions; Contributor manages pools; Reader only reads." />
          <CreateRoleAssignmentForm principals={principals} writableScopes={writableScopes} knownScopes={knownScopes} />
        </Card>
      ) : null}
      <Card>
        <CardHeader
          title={`${assignments.length} role ${assignments.length === 1 ? 'assignment' : 'assignments'}${scopeFilter ? ` at ${scopeFilter}` : ''}`}
          actions={
            <form method="get" className="flex items-end gap-2" aria-label="Filter by scope">
              <SelectField label="Scope" name="scope" defaultValue={scopeFilter ?? ''}>
                <option value="">All scopes</option>
                {knownScopes.map((scope) => (
                  <option key={scope} value={scope}>
                    {scope}
                  </option>
                ))}
              </SelectField>
              <Button type="submit" variant="secondary">
                Filter
              </Button>
            </form>
          }
        />
        {scopeParam && parsedScope && !parsedScope.ok ? (
          <p role="alert" className="px-5 pt-4 text-sm text-red-600">
            {parsedScope.message}
          </p>
        ) : null}
        {assignments.length === 0 ? (
          <EmptyState title={scopeFilter ? `Nobody has a role at ${scopeFilter} yet` : 'No role assignments yet'} />
        ) : (
          <Table label="Role assignments">
            <thead>
              <tr>
                <Th>Who</Th>
                <Th>Role</Th>
                <Th>Scope</Th>
                <Th>Since</Th>
                {canWrite ? <Th className="text-right">Actions</Th> : null}
              </tr>
            </thead>
            <tbody>
              {assignments.map((assignment) => (
                <tr key={assignment.id} data-testid="role-assignment-row">
                  <Td>
                    <div className="font-medium">{assignment.principalLabel}</div>
                    <div className="text-xs text-zinc-500">
                      {assignment.principalType === 'user' ? 'User' : 'Service principal'} · {assignment.principalDetail}
                    </div>
                  </Td>
                  <Td>
                    <RoleBadge role={assignment.role} />
                  </Td>
                  <Td>
                    <code className="font-mono text-xs">{assignment.scope}</code>
                  </Td>
                  <Td>
                    <Time value={assignment.createdAt} />
                  </Td>
                  {canWrite ? (
                    <Td className="text-right">
                      {assignment.canDelete ? (
                        <ActionButton
                          action={deleteRoleAssignmentAction}
                          fields={{ roleAssignmentId: assignment.id }}
                          label="Remove"
                          ariaLabel={`Remove ${ROLE_LABELS[assignment.role]} for ${assignment.principalDetail} at ${assignment.scope}`}
                          confirmation={`Remove ${ROLE_LABELS[assignment.role]} for ${assignment.principalDetail} at ${assignment.scope}?`}
                        />
                      ) : null}
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
