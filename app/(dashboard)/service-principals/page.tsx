import type { Metadata } from 'next';
import { Forbidden } from '@/components/shell/forbidden';
import { Badge } from '@/components/ui/badge';
import { Card, CardHeader, EmptyState, PageHeader } from '@/components/ui/card';
import { ActionButton } from '@/components/ui/action-button';
import { RoleList } from '@/components/ui/role-list';
import { Table, Td, Th } from '@/components/ui/table';
import { Time } from '@/components/ui/time';
import { can } from '@/lib/auth/access';
import { requirePrincipal } from '@/lib/auth/session';
import { listServicePrincipals } from '@/lib/services/service-principals';
import { CreateServicePrincipalForm } from './_components/create-service-principal-form';
import { revokeServicePrincipalAction } from './actions';

export const metadata: Metadata = { title: 'Service principals' };

const STATUS_TONE = { active: 'good', expired: 'warn', revoked: 'bad' } as const;
const STATUS_LABEL = { active: 'Active', expired: 'Expired', revoked: 'Revoked' } as const;

export default async function ServicePrincipalsPage() {
  const principal = await requirePrincipal();
  if (!can(principal, 'principals.read')) return <Forbidden what="service principals" />;
  const canWrite = can(principal, 'principals.write');
  const servicePrincipals = await listServicePrincipals(principal);
  return (
    <>
      <PageHeader
        title="Service principals"
        description="Identities for automation and agents. They exchange a client id and secret for a bearer token at /oauth2/v2.0/token."
      />
      {canWrite ? (
        <Card className="mb-6">
          <CardHeader title="Create a service principal" description="Then give it a role, such as Session Executor on a pool." />
          <CreateServicePrincipalForm />
        </Card>
      ) : null}
      <Card>
        <CardHeader title={`${servicePrincipals.length} service ${servicePrincipals.length === 1 ? 'principal' : 'principals'}`} />
        {servicePrincipals.length === 0 ? (
          <EmptyState title="No service principals yet">
            {canWrite ? 'Create one above, or run `npx sandpool sp create` on the host.' : 'An Owner can create one.'}
          </EmptyState>
        ) : (
          <Table label="Service principals">
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Client id</Th>
                <Th>Roles</Th>
                <Th>Status</Th>
                <Th>Secret expires</Th>
                <Th>Last used</Th>
                {canWrite ? <Th className="text-right">Actions</Th> : null}
              </tr>
            </thead>
            <tbody>
              {servicePrincipals.map((sp) => (
                <tr key={sp.id}>
                  <Td>
                    <div className="font-medium">{sp.displayName}</div>
                    <div className="text-xs text-zinc-500">secret …{sp.secretHint}</div>
                  </Td>
                  <Td>
                    <code className="font-mono text-xs">{sp.clientId}</code>
                  </Td>
                  <Td>
                    <RoleList roles={sp.roles} />
                  </Td>
                  <Td>
                    <Badge tone={STATUS_TONE[sp.status]}>{STATUS_LABEL[sp.status]}</Badge>
                  </Td>
                  <Td>
                    <Time value={sp.expiresAt} fallback="Never" />
                  </Td>
                  <Td>
                    <Time value={sp.lastUsedAt} fallback="Never" />
                  </Td>
                  {canWrite ? <Td className="text-right">{sp.status !== 'revoked' ? (
                        <ActionButton
                          action={revokeServicePrincipalAction}
                          fields={{ servicePrincipalId: sp.id }}
                          label="Revoke"
                          ariaLabel={`Revoke ${sp.displayName}`}
                          confirmation={`Revoke ${sp.displayName}? Its secret and every token it holds stop working at once. This cannot be undone.`}
                        />
                      ) : null}</Td> : null}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
