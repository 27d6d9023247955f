'use client';
import { CopyButton } from '@/components/ui/copy-button';
import { SelectField, TextField } from '@/components/ui/field';
import { FormMessage } from '@/components/ui/form-message';
import { SubmitButton } from '@/components/ui/submit-button';
import { useActionForm } from '@/components/ui/use-action-form';
import { createServicePrincipalAction } from '../actions';

function SecretField({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div>
      <p className="text-xs font-medium uppercase tracking-wide text-zinc-500">{label}</p>
      <div className="mt-1 flex items-center gap-2">
        <code data-testid={testId} className="flex-1 overflow-x-auto rounded bg-zinc-100 px-2 py-1.5 font-mono text-sm dark:bg-zinc-800">
          {value}
        </code>
        <CopyButton value={value} />
      </div>
    </div>
  );
}

export function CreateServicePrincipalForm() {
  const { state, onSubmit, isPending, fieldErrors: errors } = useActionForm(createServicePrincipalAction);
  return (
    <div className="space-y-4 px-5 py-4">
      {state?.ok ? (
        <div role="status" className="space-y-3 rounded-md border border-amber-300 bg-amber-50 p-4 dark:border-amber-800 dark:bg-amber-950/40">
          <p className="text-sm font-medium text-amber-900 dark:text-amber-200">
            Copy the secret now. It is shown only this once; Sandpool stores only a hash of it.
          </p>
          <SecretField label="Client id" value={state.data.servicePrincipal.clientId} testId="new-client-id" />
          <SecretField label="Client secret" value={state.data.clientSecret} testId="new-client-secret" />
        </div>
      ) : null}
      <form onSubmit={onSubmit} className="space-y-4" noValidate aria-label="Create service principal">
        <div className="grid gap-4 md:grid-cols-2">
          <TextField label="Name" name="displayName" required placeholder="e.g. agent-runner" errors={errors?.displayName} />
          <SelectField label="Secret expires" name="expiresInDays" defaultValue="365" errors={errors?.expiresInDays}>
            <option value="30">In 30 days</option>
            <option value="90">In 90 days</option>
            <option value="365">In 1 year</option>
            <option value="730">In 2 years</option>
            <option value="">Never</option>
          </SelectField>
        </div>
        {state && !state.ok ? <FormMessage state={state} /> : null}
        <SubmitButton isPending={isPending} pendingLabel="Creating…">Create service principal</SubmitButton>
      </form>
    </div>
  );
}
