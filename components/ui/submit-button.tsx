'use client';
import { Button, type ButtonProps } from './button';

/** A submit button that shows progress and cannot be pressed twice while its form is pending. */
export function SubmitButton({ children, isPending, pendingLabel, disabled, ...props }: ButtonProps & { isPending: boolean; pendingLabel?: string }) {
  return (
    <Button type="submit" disabled={isPending || disabled} aria-busy={isPending} {...props}>
      {isPending ? (pendingLabel ?? 'Working…') : children}
    </Button>
  );
}
