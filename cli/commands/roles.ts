import { HOST_OPERATOR } from '../../lib/auth/access';
import { StepError, dim } from '../ui';
import { withRuntime } from '../runtime';

type AssignOptions = { role: string; scope: string; user?: string; sp?: string };

export async function assignRoleCommand(options: AssignOptions): Promise<void> {
  if (Boolean(options.user) === Boolean(options.sp)) {
    throw new StepError('Say who gets the role.', 'Pass exactly one of --user <email> or --sp <client id>.');
  }
  await withRuntime(async () => {
    const { createRoleAssignment } = await import('../../lib/services/role-assignments');
    const assignment = await createRoleAssignment(HOST_OPERATOR, {
      role: options.role,
      scope: options.scope,
      principalType: options.user ? 'user' : 'servicePrincipal',
      principalId: options.user ?? options.sp,
    });
    console.log(`Assigned ${assignment.role} to ${assignment.principalDetail} at ${assignment.scope} (${assignment.id}).`);
  });
}

export async function listRolesCommand(options: { scope?: string; json?: boolean }): Promise<void> {
  await withRuntime(async () => {
    const { listRoleAssignments } = await import('../../lib/services/role-assignments');
    const assignments = await listRoleAssignments(HOST_OPERATOR, { scope: options.scope });
    if (options.json) return console.log(JSON.stringify(assignments, null, 2));
    if (assignments.length === 0) return console.log('No role assignments.');
    for (const assignment of assignments) {
      console.log(`${assignment.id}  ${assignment.role.padEnd(16)} ${assignment.scope.padEnd(28)} ${assignment.principalDetail} ${dim(`(${assignment.principalType})`)}`);
    }
  });
}

export async function removeRoleCommand(id: string): Promise<void> {
  await withRuntime(async () => {
    const { deleteRoleAssignment } = await import('../../lib/services/role-assignments');
    await deleteRoleAssignment(HOST_OPERATOR, { roleAssignmentId: id });
    console.log(`Removed role assignment ${id}.`);
  });
}
