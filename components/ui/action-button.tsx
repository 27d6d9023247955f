'use client';
import { useActionState } from 'react';
import type { ActionState } from '@/lib/auth/action-state';
import { Button, type ButtonProps } from './button';

type ActionButtonProps<T> = {
  action: (previous: ActionState<T>, formData: FormData) => Promise<ActionState<T>>;
  /** Hidden fields sent with the action, such as the id of the row. */
  fields: Record<string, string>;
  label: string;
  /** Accessible name naming the row, e.g. "Revoke agent-runner". */
  ariaLabel: string;
  /** Asked before a destructive action; the action runs only if the person agrees. */
  confirmation?: string;
  variant?: ButtonProps['variant'];
};

/** A one-button form for a row action (revoke, remove, disable), with its error shown beside it. */
export function ActionButton<T>({ action, fields, label, ariaLabel, confirmation, variant = 'danger' }: ActionButtonProps<T>) {
  const [state, formAction, isPending] = useActionState(action, null);
  return (
    <form
      action={formAction}
      onSubmit={(event) => {
        if (confirmation && !window.confirm(confirmation)) event.preventDefault();
      }}
      className="inline-flex flex-col items-end gap-1"
    >
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <Button type="submit" size="sm" variant={variant} disabled={isPending} aria-label={ariaLabel}>
        {label}
      </Button>
      {state && !state.ok ? (
        <span role="alert" className="max-w-xs text-right text-xs text-red-600 dark:text-red-400">
          {state.error.message}
        </span>
      ) : null}
    </form>
  );
}
