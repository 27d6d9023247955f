import { randomBytes } from 'node:crypto';
import { HOST_OPERATOR } from '../../lib/auth/access';
import { withRuntime } from '../runtime';
import { bold, dim } from '../ui';

type CreateOptions = { email: string; password?: string; name?: string; role?: string; scope: string };

export async function createUserCommand(options: CreateOptions): Promise<void> {
  await withRuntime(async () => {
    const { createUser } = await import('../../lib/services/users');
    const { createRoleAssignment } = await import('../../lib/services/role-assignments');
    const password = options.password ?? randomBytes(18).toString('base64url');
    const user = await createUser(HOST_OPERATOR, { email: options.email, password, displayName: options.name });
    if (options.role) {
      await createRoleAssignment(HOST_OPERATOR, { role: options.role, scope: options.scope, principalType: 'user', principalId: user.id });
    }
    console.log(`Created user ${bold(user.email)} (${user.id})${options.role ? ` with ${options.role} at ${options.scope}` : ''}.`);
    if (!options.password) console.log(`Password: ${bold(password)}  ${dim('(shown once; they can change it under Account)')}`);
  });
}

export async function listUsersCommand(options: { json?: boolean }): Promise<void> {
  await withRuntime(async () => {
    const { listUsers } = await import('../../lib/services/users');
    const users = await listUsers(HOST_OPERATOR);
    if (options.json) return console.log(JSON.stringify(users, null, 2));
    if (users.length === 0) return console.log('No users yet.');
    for (const user of users) {
      const roles = user.roles.map((role) => `${role.role}@${role.scope}`).join(', ') || 'no roles';
      console.log(`${user.email.padEnd(32)} ${user.disabled ? 'disabled' : 'active  '} ${dim(roles)}`);
    }
  });
}

export async function resetPasswordCommand(options: { email: string; password?: string }): Promise<void> {
  await withRuntime(async () => {
    const { resetUserPassword } = await import('../../lib/services/users');
    const password = options.password ?? randomBytes(18).toString('base64url');
    await resetUserPassword(HOST_OPERATOR, { email: options.email, password });
    console.log(`Password for ${bold(options.email)} was reset; their sessions have ended.`);
    if (!options.password) console.log(`New password: ${bold(password)}  ${dim('(shown once)')}`);
  });
}
