import type { Metadata } from 'next';
import { Card, CardHeader, PageHeader } from '@/components/ui/card';
import { requirePrincipal } from '@/lib/auth/session';
import { ChangePasswordForm } from './change-password-form';

export const metadata: Metadata = { title: 'Account' };

export default async function AccountPage() {
  const principal = await requirePrincipal();
  return (
    <>
      <PageHeader title="Account" description={`Signed in as ${principal.label}.`} />
      <Card>
        <CardHeader title="Change password" description="Every session, including this one, ends when the password changes." />
        <ChangePasswordForm />
      </Card>
    </>
  );
}
