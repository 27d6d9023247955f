import type { Metadata } from 'next';
import { Card, CardHeader, PageHeader } from '@/components/ui/card';
import { RoleBadge } from '@/components/ui/role-badge';
import { requirePrincipal } from '@/lib/auth/session';
import { env } from '@/lib/env';

export const metadata: Metadata = { title: 'Overview' };

export default async function OverviewPage() {
  const principal = await requirePrincipal();
  const portalUrl = env().SANDPOOL_PUBLIC_URL.replace(/\/+$/, '');
  return (
    <>
      <PageHeader title="Overview" description="Sandpool keeps pools of isolated sandboxes warm and hands one to each new session in milliseconds." />
      <div className="grid gap-6 lg:grid-cols-2">
        <Card>
          <CardHeader title="Your access" description="Roles are checked on every request, so changes apply at once." />
          <div className="flex flex-wrap gap-2 px-5 py-4">
            {principal.assignments.length === 0 ? (
              <p className="text-sm text-zinc-500">You have no roles yet. Ask an Owner to assign you one.</p>
            ) : (
              principal.assignments.map((assignment) => (
                <RoleBadge key={`${assignment.role}${assignment.scope}`} role={assignment.role} scope={assignment.scope} />
              ))
            )}
          </div>
        </Card>
        <Card>
          <CardHeader title="Get a token for automation" description="Service principals sign in with OAuth2 client credentials, as with Entra ID." />
          <pre className="overflow-x-auto px-5 py-4 font-mono text-xs leading-relaxed text-zinc-700 dark:text-zinc-300">
            {`curl -s ${portalUrl}/oauth2/v2.0/token \\
  -d grant_type=client_credentials \\
  -d client_id=<client id> \\
  -d client_secret=<secret> \\
  -d scope=https://dynamicsessions.io/.default`}
          </pre>
        </Card>
      </div>
    </>
  );
}
