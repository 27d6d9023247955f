'use client';
import { SelectField, TextField } from '@/components/ui/field';
import { FormMessage } from '@/components/ui/form-message';
import { SubmitButton } from '@/components/ui/submit-button';
import { useActionForm } from '@/components/ui/use-action-form';
import { ROLE_DESCRIPTIONS, ROLE_LABELS, ROLES } from '@/lib/auth/permissions';
import { createRoleAssignmentAction } from '../actions';

export type PrincipalOption = { value: string; label: string; group: 'Users' | 'Service principals' };

export function CreateRoleAssignmentForm({
  principals,
  writableScopes,
  knownScopes,
}: {
  /** Null when the viewer may not list people: they type an email or client id instead. */
  principals: PrincipalOption[] | null;
  /** "/" means any scope; otherwise the pool scopes the viewer may assign at. */
  writableScopes: string[];
  knownScopes: string[];
}) {
  const { state, onSubmit, isPending, fieldErrors: errors } = useActionForm(createRoleAssignmentAction);
  const anyScope = writableScopes.includes('/');
  return (
    <form onSubmit={onSubmit} className="space-y-4 px-5 py-4" noValidate aria-label="Add role assignment">
      <div className="grid gap-4 md:grid-cols-3">
        {principals ? (
          <SelectField label="Who" name="principal" required defaultValue="" errors={errors?.principalId ?? errors?.principalType}>
            <option value="" disabled>
              Choose a user or service principal
            </option>
            {(['Users', 'Service principals'] as const).map((group) => (
              <optgroup key={group} label={group}>
                {principals
                  .filter((option) => option.group === group)
                  .map((option) => (
                    <option key={option.value} value={option.value}>
                      {option.label}
                    </option>
                  ))}
              </optgroup>
            ))}
          </SelectField>
        ) : (
          <TextField label="Who" name="principal" required hint="A user's email or a service principal's client id." errors={errors?.principalId} />
        )}
        <SelectField label="Role" name="role" required defaultValue="SESSION_EXECUTOR" errors={errors?.role}>
          {ROLES.map((role) => (
            <option key={role} value={role} title={ROLE_DESCRIPTIONS[role]}>
              {ROLE_LABELS[role]}
            </option>
          ))}
        </SelectField>
        {anyScope ? (
          <>
            <TextField
              label="Scope"
              name="scope"
              required
              defaultValue="/"
              list="known-scopes"
              hint='"/" for every pool, or /sessionPools/<pool name>.'
              errors={errors?.scope}
            />
            <datalist id="known-scopes">
              {knownScopes.map((scope) => (
                <option key={scope} value={scope} />
              ))}
            </datalist>
          </>
        ) : (
          <SelectField label="Scope" name="scope" required errors={errors?.scope}>
            {writableScopes.map((scope) => (
              <option key={scope} value={scope}>
                {scope}
              </option>
            ))}
          </SelectField>
        )}
      </div>
      <FormMessage state={state} />
      <SubmitButton isPending={isPending} pendingLabel="Assigning…">Add role assignment</SubmitButton>
    </form>
  );
}
