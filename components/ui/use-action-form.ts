'use client';
import { startTransition, useActionState, type FormEvent } from 'react';
import type { ActionState } from '@/lib/auth/action-state';

/**
 * Runs a server action from a form's submit event. React resets a form that uses the `action`
 * prop after every submission, which would wipe what the person typed whenever the server
 * sends back a validation error; submitting through a transition keeps their input.
 */
export function useActionForm<T>(action: (previous: ActionState<T>, formData: FormData) => Promise<ActionState<T>>) {
  const [state, dispatch, isPending] = useActionState(action, null);
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formData = new FormData(event.currentTarget);
    startTransition(() => dispatch(formData));
  };
  const fieldErrors = state && !state.ok ? state.error.fieldErrors : undefined;
  return { state, onSubmit, isPending, fieldErrors };
}
