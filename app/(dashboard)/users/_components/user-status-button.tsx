'use client';
import { useActionState } from 'react';
import { Button } from '@/components/ui/button';
import { disableUserAction, enableUserAction } from '../actions';

export function UserStatusButton({ userId, email, disabled }: { userId: string; email: string; disabled: boolean }) {
  const [state, formAction, isPending] = useActionState(disabled ? enableUserAction : disableUserAction, null);
  return (
    <form action={formAction} className="inline-flex flex-col items-end gap-1">
      <input type="hidden" name="userId" value={userId} />
      <Button type="submit" size="sm" variant={disabled ? 'secondary' : 'danger'} disabled={isPending} aria-label={`${disabled ? 'Enable' : 'Disable'} ${email}`}>
        {disabled ? 'Enable' : 'Disable'}
      </Button>
      {state && !state.ok ? (
        <span role="alert" className="max-w-xs text-right text-xs text-red-600 dark:text-red-400">
          {state.error.message}
        </span>
      ) : null}
    </form>
  );
}
