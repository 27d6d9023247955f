'use client';
import { useRouter } from 'next/navigation';
import { useEffect, useState, type FocusEvent, type FormEvent, type ReactNode } from 'react';
import { SelectField, TextField } from '@/components/ui/field';
import { FormMessage } from '@/components/ui/form-message';
import { SubmitButton } from '@/components/ui/submit-button';
import { useActionForm } from '@/components/ui/use-action-form';
import type { ActionState } from '@/lib/auth/action-state';
import type { FieldErrors } from '@/lib/errors';
import { fieldErrorsOf, formToObject } from '@/lib/validations/common';
import { createPoolSchema, POOL_LIMITS, poolSettingsSchema, type PoolSettings } from '@/lib/validations/pool';

type PoolSetting = keyof PoolSettings;

const LABELS: Record<PoolSetting | 'name', string> = {
  name: 'Name',
  containerType: 'Container type',
  isolation: 'Isolation',
  maxConcurrentSessions: 'Max concurrent sessions',
  readySessionInstances: 'Ready sessions',
  cooldownPeriodInSeconds: 'Cooldown (seconds)',
  networkStatus: 'Network',
  cpu: 'CPU (cores)',
  memoryGi: 'Memory (GiB)',
};

/**
 * The schema's messages name the range but not the field ("must be a whole number from 1 to
 * 600.") or use the API's property names; under a form field they read better with its label.
 */
function inFormWords(field: string, message: string): string {
  if (message.startsWith('must ')) return `${LABELS[field as PoolSetting] ?? field} ${message}`;
  const worded = Object.entries(LABELS).reduce((text, [property, label]) => text.replaceAll(property, label.toLowerCase().replace(/ \(.*\)$/, '')), message);
  return worded.charAt(0).toUpperCase() + worded.slice(1);
}

function range(setting: keyof typeof POOL_LIMITS, unit = ''): string {
  const limits = POOL_LIMITS[setting];
  return `${limits.min}–${limits.max}${unit} (default ${limits.default}${unit})`;
}

function Section({ title, description, children }: { title: string; description?: ReactNode; children: ReactNode }) {
  return (
    <fieldset className="grid gap-4 border-t border-zinc-200 px-5 py-5 first:border-t-0 md:grid-cols-[12rem_1fr] dark:border-zinc-800">
      <legend className="contents">
        <span className="block text-sm font-semibold">
          {title}
          {description ? <span className="mt-1 block text-xs font-normal text-zinc-500 dark:text-zinc-400">{description}</span> : null}
        </span>
      </legend>
      <div className="grid gap-4 sm:grid-cols-2">{children}</div>
    </fieldset>
  );
}

type PoolFormProps<T extends { name: string }> = {
  mode: 'create' | 'edit';
  /** Current settings (edit) or the defaults (create). */
  values: PoolSettings & { name: string };
  /** For viewers who may not change the pool: the same form, disabled, without a submit button. */
  readOnly?: boolean;
  action: (previous: ActionState<T>, formData: FormData) => Promise<ActionState<T>>;
};

/** Every pool setting the service supports, with Azure's ranges; the server validates the same schema. */
export function PoolForm<T extends { name: string }>({ mode, values, readOnly = false, action }: PoolFormProps<T>) {
  const router = useRouter();
  const { state, onSubmit, isPending, fieldErrors: serverErrors } = useActionForm(action);
  // Hints while typing, from the same schema the server uses; shown for fields left since the
  // last submission, so the server's answer is never hidden by a stale hint.
  const [hints, setHints] = useState<FieldErrors>({});
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());

  useEffect(() => {
    if (state?.ok) router.push(`/pools/${state.data.name}?${mode === 'create' ? 'created' : 'saved'}=1`);
  }, [state, router, mode]);

  const hintsFor = (form: HTMLFormElement): FieldErrors => {
    const input = formToObject(new FormData(form));
    const parsed = mode === 'create' ? createPoolSchema.safeParse(input) : poolSettingsSchema.safeParse(input);
    return parsed.success ? {} : fieldErrorsOf(parsed.error);
  };
  const onBlur = (event: FocusEvent<HTMLFormElement>) => {
    const target: EventTarget = event.target;
    if (!(target instanceof HTMLInputElement || target instanceof HTMLSelectElement) || !target.name) return;
    const field = target.name;
    setTouched((previous) => new Set(previous).add(field));
    setHints(hintsFor(event.currentTarget));
  };
  const submit = (event: FormEvent<HTMLFormElement>) => {
    setTouched(new Set());
    setHints({});
    onSubmit(event);
  };
  const errors = (field: PoolSetting | 'name'): string[] | undefined => {
    const messages = touched.has(field) ? hints[field] : serverErrors?.[field];
    return messages?.map((message) => inFormWords(field, message));
  };
  const numberField = (setting: keyof typeof POOL_LIMITS, hint: string, { unit = '', step }: { unit?: string; step?: number } = {}) => (
    <TextField
      label={LABELS[setting]}
      name={setting}
      type="number"
      inputMode={step ? 'decimal' : 'numeric'}
      step={step}
      min={POOL_LIMITS[setting].min}
      max={POOL_LIMITS[setting].max}
      defaultValue={values[setting]}
      hint={`${range(setting, unit)}${hint}`}
      errors={errors(setting)}
    />
  );

  return (
    <form onSubmit={submit} onBlur={onBlur} noValidate aria-label={mode === 'create' ? 'Create pool' : 'Pool settings'}>
      <fieldset disabled={readOnly} className="contents [&_:is(input,select):disabled]:cursor-not-allowed [&_:is(input,select):disabled]:bg-zinc-50 dark:[&_:is(input,select):disabled]:bg-zinc-950">
        <Section title="Pool" description={mode === 'create' ? 'The name is part of the endpoint and cannot change.' : undefined}>
          <TextField
            label={LABELS.name}
            name="name"
            required
            defaultValue={values.name}
            readOnly={mode === 'edit'}
            autoComplete="off"
            spellCheck={false}
            hint={mode === 'create' ? "3–63 lowercase letters and digits, starting with a letter (Azure's rule)." : undefined}
            errors={errors('name')}
          />
          <SelectField
            label={LABELS.containerType}
            name="containerType"
            defaultValue={values.containerType}
            disabled={mode === 'edit' || readOnly}
            hint={mode === 'edit' ? 'Fixed when the pool is created, as in Azure.' : 'Python with a Jupyter kernel. Node.js, shell and custom containers are planned.'}
            errors={errors('containerType')}
          >
            <option value="PythonLTS">PythonLTS (code interpreter)</option>
            <option value="NodeLTS" disabled>
              NodeLTS (planned)
            </option>
            <option value="Shell" disabled>
              Shell (planned)
            </option>
            <option value="CustomContainer" disabled>
              CustomContainer (planned)
            </option>
          </SelectField>
          <SelectField
            label={LABELS.isolation}
            name="isolation"
            defaultValue={values.isolation}
            hint="gVisor puts a user-space kernel between the code and the host (strongest). runc is a hardened container: faster to start."
            errors={errors('isolation')}
          >
            <option value="gVisor">gVisor</option>
            <option value="runc">runc (hardened)</option>
          </SelectField>
        </Section>
        <Section title="Scale" description="How many sessions may be in use at once, and how many are kept warm.">
          {numberField('maxConcurrentSessions', '. New identifiers beyond it get HTTP 429.')}
          {numberField('readySessionInstances', ', at most the maximum. Started ahead so a new identifier gets one at once.')}
        </Section>
        <Section title="Lifecycle" description="Timed: a session ends after a quiet period (the only lifecycle for code-interpreter pools).">
          {numberField('cooldownPeriodInSeconds', ". Each request restarts it. Azure's minimum is 300 s.", { unit: ' s' })}
        </Section>
        <Section title="Network">
          <SelectField
            label={LABELS.networkStatus}
            name="networkStatus"
            defaultValue={values.networkStatus}
            hint="Sessions have loopback only. Outbound access is not supported yet."
            errors={errors('networkStatus')}
          >
            <option value="EgressDisabled">EgressDisabled</option>
            <option value="EgressEnabled" disabled>
              EgressEnabled (not supported yet)
            </option>
          </SelectField>
        </Section>
        <Section
          title="Resources"
          description={mode === 'edit' ? 'Changing isolation, CPU or memory replaces the ready sessions; allocated ones keep running as they are.' : 'Limits for each session.'}
        >
          {numberField('cpu', ', in steps of 0.25.', { step: 0.25 })}
          {numberField('memoryGi', ', in steps of 0.25. Files in /mnt/data count against it.', { step: 0.25 })}
        </Section>
      </fieldset>
      {readOnly ? null : (
        <div className="space-y-3 border-t border-zinc-200 px-5 py-4 dark:border-zinc-800">
          {state && !state.ok ? <FormMessage state={state} /> : null}
          <SubmitButton isPending={isPending} pendingLabel={mode === 'create' ? 'Creating…' : 'Saving…'}>
            {mode === 'create' ? 'Create pool' : 'Save changes'}
          </SubmitButton>
        </div>
      )}
    </form>
  );
}
