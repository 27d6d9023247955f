'use client';
import { TextField } from '@/components/ui/field';
import { FormMessage } from '@/components/ui/form-message';
import { SubmitButton } from '@/components/ui/submit-button';
import { useActionForm } from '@/components/ui/use-action-form';
import { changePasswordAction } from './actions';

export function ChangePasswordForm() {
  const { state, onSubmit, isPending, fieldErrors: errors } = useActionForm(changePasswordAction);
  return (
    <form onSubmit={onSubmit} className="max-w-md space-y-4 px-5 py-4" noValidate aria-label="Change password">
      <TextField label="Current password" name="currentPassword" type="password" autoComplete="current-password" required errors={errors?.currentPassword} />
      <TextField label="New password" name="newPassword" type="password" autoComplete="new-password" required hint="At least 12 characters." errors={errors?.newPassword} />
      <TextField label="Repeat new password" name="confirmPassword" type="password" autoComplete="new-password" required errors={errors?.confirmPassword} />
      <FormMessage state={state} />
      <SubmitButton isPending={isPending} pendingLabel="Changing…">Change password</SubmitButton>
    </form>
  );
}
