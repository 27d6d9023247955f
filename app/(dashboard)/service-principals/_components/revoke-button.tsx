'use client';
import { useActionState } from 'react';
import { Button } from '@/components/ui/button';
import { revokeServicePrincipalAction } from '../actions';

export function RevokeButton({ servicePrincipalId, name }: { servicePrincipalId: string; name: string }) {
  const [state, formAction, isPending] = useActionState(revokeServicePrincipalAction, null);
  return (
    <form
      action={formAction}
      onSubmit={(event) => {
        if (!window.confirm(`Revoke ${name}? Its secret and every token it holds stop working at once. This cannot be undone.`)) event.preventDefault();
      }}
      className="inline-flex flex-col items-end gap-1"
    >
      <input type="hidden" name="servicePrincipalId" value={servicePrincipalId} />
      <Button type="submit" size="sm" variant="danger" disabled={isPending} aria-label={`Revoke ${name}`}>
        Revoke
      </Button>
      {state && !state.ok ? (
        <span role="alert" className="text-xs text-red-600 dark:text-red-400">
          {state.error.message}
        </span>
      ) : null}
    </form>
  );
}
