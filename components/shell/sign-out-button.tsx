'use client';
import { useActionState } from 'react';
import { Button } from '@/components/ui/button';
import { signOutAction } from '@/app/(dashboard)/actions';

export function SignOutButton() {
  const [, formAction, isPending] = useActionState(signOutAction, null);
  return (
    <form action={formAction}>
      <Button type="submit" variant="ghost" size="sm" disabled={isPending}>
        Sign out
      </Button>
    </form>
  );
}
