import { StepError } from '../ui';
import { withRuntime } from '../runtime';

/**
 * Mints a token for a service principal without its secret: whoever is root on the host can
 * read the signing keys anyway, and automation needs a way to bootstrap itself.
 */
export async function tokenCommand(clientId: string, options: { scope: string; json?: boolean }): Promise<void> {
  await withRuntime(async () => {
    const { audienceForScope, SUPPORTED_SCOPES } = await import('../../lib/tokens/audiences');
    const { issueAccessToken } = await import('../../lib/tokens/access-token');
    const { loadServicePrincipal } = await import('../../lib/services/principals');
    const { db } = await import('../../lib/db');
    const audience = audienceForScope(options.scope);
    if (!audience) throw new StepError(`Sandpool does not issue tokens for scope "${options.scope}".`, `Use one of: ${SUPPORTED_SCOPES.join(', ')}.`);
    const row = await db().servicePrincipal.findFirst({ where: { OR: [{ id: clientId }, { clientId: clientId.toLowerCase() }] }, select: { id: true, clientId: true } });
    if (!row) throw new StepError(`There is no service principal "${clientId}".`, 'List them with `npx sandpool sp list`.');
    if (!(await loadServicePrincipal(row.id))) throw new StepError(`Service principal ${row.clientId} is revoked or expired.`, 'Create a new one with `npx sandpool sp create`.');
    const token = await issueAccessToken(row, audience);
    if (options.json) {
      console.log(JSON.stringify({ token_type: 'Bearer', expires_in: token.expiresIn, access_token: token.accessToken }, null, 2));
    } else {
      console.log(token.accessToken);
    }
  });
}
