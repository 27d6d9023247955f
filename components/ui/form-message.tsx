import type { ActionState } from '@/lib/auth/action-state';

/** The outcome of a form submission, announced to screen readers. */
export function FormMessage({ state }: { state: ActionState<unknown> }) {
  if (!state) return null;
  if (state.ok) {
    return state.message ? (
      <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300">
        {state.message}
      </p>
    ) : null;
  }
  // Field problems are shown under their fields; repeating them here would only add noise.
  const hasFieldErrors = Object.keys(state.error.fieldErrors ?? {}).some((field) => field !== '_form');
  const message = state.error.code === 'BAD_REQUEST' && hasFieldErrors ? 'Some fields need attention; see the messages under them.' : state.error.message;
  return (
    <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-300">
      {message}
    </p>
  );
}
