'use client';
import { useFormStatus } from 'react-dom';
import { Button, type ButtonProps } from './button';

/** A submit button that shows progress and cannot be pressed twice while its form is pending. */
export function SubmitButton({ children, pendingLabel, ...props }: ButtonProps & { pendingLabel?: string }) {
  const { pending } = useFormStatus();
  return (
    <Button type="submit" disabled={pending || props.disabled} aria-busy={pending} {...props}>
      {pending ? (pendingLabel ?? 'Working…') : children}
    </Button>
  );
}
