import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from 'react';
import { cn } from '@/lib/ui/cn';

const CONTROL =
  'block w-full rounded-md border bg-white px-3 py-2 text-sm shadow-xs placeholder:text-zinc-400 dark:bg-zinc-900 ' +
  'border-zinc-300 dark:border-zinc-700 aria-[invalid=true]:border-red-500 aria-[invalid=true]:ring-1 aria-[invalid=true]:ring-red-500';

type FieldProps = { label: string; name: string; errors?: string[]; hint?: ReactNode };

function FieldShell({ label, name, errors, hint, children }: FieldProps & { children: ReactNode }) {
  return (
    <div className="space-y-1.5">
      <label htmlFor={name} className="block text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {label}
      </label>
      {children}
      {hint && !errors?.length ? (
        <p id={`${name}-hint`} className="text-xs text-zinc-500 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      {errors?.map((error) => (
        <p key={error} id={`${name}-error`} className="text-xs text-red-600 dark:text-red-400" role="alert">
          {error}
        </p>
      ))}
    </div>
  );
}

export function TextField({ label, name, errors, hint, className, ...props }: FieldProps & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <FieldShell label={label} name={name} errors={errors} hint={hint}>
      <input
        id={name}
        name={name}
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={errors?.length ? `${name}-error` : hint ? `${name}-hint` : undefined}
        className={cn(CONTROL, className)}
        {...props}
      />
    </FieldShell>
  );
}

export function SelectField({
  label,
  name,
  errors,
  hint,
  children,
  className,
  ...props
}: FieldProps & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <FieldShell label={label} name={name} errors={errors} hint={hint}>
      <select
        id={name}
        name={name}
        aria-invalid={errors?.length ? true : undefined}
        className={cn(CONTROL, className)}
        {...props}
      >
        {children}
      </select>
    </FieldShell>
  );
}
