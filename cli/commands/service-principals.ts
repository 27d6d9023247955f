import { HOST_OPERATOR } from '../../lib/auth/access';
import { withRuntime } from '../runtime';
import { dim } from '../ui';

type CreateOptions = { name: string; role?: string; scope: string; expiresInDays?: string };

export async function createServicePrincipalCommand(options: CreateOptions): Promise<void> {
  await withRuntime(async () => {
    const { createServicePrincipal } = await import('../../lib/services/service-principals');
    const { createRoleAssignment } = await import('../../lib/services/role-assignments');
    const { env } = await import('../../lib/env');
    const created = await createServicePrincipal(HOST_OPERATOR, { displayName: options.name, expiresInDays: options.expiresInDays });
    if (options.role) {
      await createRoleAssignment(HOST_OPERATOR, {
        role: options.role,
        scope: options.scope,
        principalType: 'servicePrincipal',
        principalId: created.servicePrincipal.id,
      });
    }
    const portal = env().SANDPOOL_PUBLIC_URL.replace(/\/+$/, '');
    // JSON on stdout so automation can capture it: this is the only time the secret is shown.
    console.log(
      JSON.stringify(
        {
          id: created.servicePrincipal.id,
          clientId: created.servicePrincipal.clientId,
          clientSecret: created.clientSecret,
          displayName: created.servicePrincipal.displayName,
          expiresAt: created.servicePrincipal.expiresAt,
          role: options.role ? { role: options.role, scope: options.scope } : null,
          tokenEndpoint: `${portal}/oauth2/v2.0/token`,
        },
        null,
        2,
      ),
    );
  });
}

export async function listServicePrincipalsCommand(options: { json?: boolean }): Promise<void> {
  await withRuntime(async () => {
    const { listServicePrincipals } = await import('../../lib/services/service-principals');
    const servicePrincipals = await listServicePrincipals(HOST_OPERATOR);
    if (options.json) return console.log(JSON.stringify(servicePrincipals, null, 2));
    if (servicePrincipals.length === 0) return console.log('No service principals yet. Create one with `npx sandpool sp create --name <name>`.');
    for (const sp of servicePrincipals) {
      const roles = sp.roles.map((role) => `${role.role}@${role.scope}`).join(', ') || 'no roles';
      console.log(`${sp.clientId}  ${sp.status.padEnd(7)}  ${sp.displayName.padEnd(24)} ${dim(roles)}`);
    }
  });
}

export async function revokeServicePrincipalCommand(clientId: string): Promise<void> {
  await withRuntime(async () => {
    const { revokeServicePrincipal } = await import('../../lib/services/service-principals');
    const sp = await revokeServicePrincipal(HOST_OPERATOR, { servicePrincipalId: clientId });
    console.log(`Revoked ${sp.displayName} (${sp.clientId}). Its secret and tokens no longer work.`);
  });
}
