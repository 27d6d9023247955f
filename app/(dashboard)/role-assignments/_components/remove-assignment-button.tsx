'use client';
import { useActionState } from 'react';
import { Button } from '@/components/ui/button';
import { deleteRoleAssignmentAction } from '../actions';

export function RemoveAssignmentButton({ roleAssignmentId, description }: { roleAssignmentId: string; description: string }) {
  const [state, formAction, isPending] = useActionState(deleteRoleAssignmentAction, null);
  return (
    <form
      action={formAction}
      onSubmit={(event) => {
        if (!window.confirm(`Remove ${description}?`)) event.preventDefault();
      }}
      className="inline-flex flex-col items-end gap-1"
    >
      <input type="hidden" name="roleAssignmentId" value={roleAssignmentId} />
      <Button type="submit" size="sm" variant="danger" disabled={isPending} aria-label={`Remove ${description}`}>
        Remove
      </Button>
      {state && !state.ok ? (
        <span role="alert" className="max-w-xs text-right text-xs text-red-600 dark:text-red-400">
          {state.error.message}
        </span>
      ) : null}
    </form>
  );
}
