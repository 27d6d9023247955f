'use client';
import { useEffect, useRef } from 'react';
import { TextField } from '@/components/ui/field';
import { FormMessage } from '@/components/ui/form-message';
import { SubmitButton } from '@/components/ui/submit-button';
import { useActionForm } from '@/components/ui/use-action-form';
import { createUserAction } from '../actions';

export function CreateUserForm() {
  const { state, onSubmit, isPending, fieldErrors: errors } = useActionForm(createUserAction);
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (state?.ok) formRef.current?.reset();
  }, [state]);
  return (
    <form ref={formRef} onSubmit={onSubmit} className="space-y-4 px-5 py-4" noValidate aria-label="Create user">
      <div className="grid gap-4 md:grid-cols-3">
        <TextField label="Email" name="email" type="email" autoComplete="off" required errors={errors?.email} />
        <TextField label="Display name" name="displayName" hint="Optional; defaults to the part of the email before @." errors={errors?.displayName} />
        <TextField
          label="Initial password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          hint="At least 12 characters."
          errors={errors?.password}
        />
      </div>
      <FormMessage state={state} />
      <SubmitButton isPending={isPending} pendingLabel="Creating…">Create user</SubmitButton>
    </form>
  );
}
