'use client';
import { useRouter } from 'next/navigation';
import { useActionState, useEffect, useRef, useState } from 'react';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { FormMessage } from '@/components/ui/form-message';
import { SubmitButton } from '@/components/ui/submit-button';
import type { ActionState } from '@/lib/auth/action-state';
import { useOptionalPoolLive, type LaneCounts } from './pool-live';
import { LANE_STATES, StateBadge } from './session-state';

/**
 * Deleting drains every session, so the dialog says how many, in which state, before anyone
 * agrees: the live counts on a pool page, else the counts the page was rendered with. The
 * button only enables once the pool's name is typed, so a stray click or Enter on the wrong
 * pool's page cannot drain it.
 */
export function DeletePoolButton<T>({
  name,
  counts: renderedCounts,
  action,
}: {
  name: string;
  counts: LaneCounts;
  action: (previous: ActionState<T>, formData: FormData) => Promise<ActionState<T>>;
}) {
  const counts = useOptionalPoolLive()?.counts ?? renderedCounts;
  const dialog = useRef<HTMLDialogElement>(null);
  const router = useRouter();
  const [state, formAction, isPending] = useActionState(action, null);
  const [typedName, setTypedName] = useState('');
  const isConfirmed = typedName === name;
  useEffect(() => {
    if (!state?.ok) return;
    dialog.current?.close();
    router.refresh();
  }, [state, router]);
  const total = counts.pending + counts.ready + counts.allocated + counts.deleting;
  return (
    <>
      <Button variant="danger" onClick={() => dialog.current?.showModal()}>
        Delete pool
      </Button>
      <dialog
        ref={dialog}
        onClose={() => setTypedName('')}
        aria-labelledby="delete-pool-title"
        className="m-auto w-full max-w-md rounded-lg border border-zinc-200 bg-white p-0 text-zinc-900 shadow-xl backdrop:bg-zinc-950/50 dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-100"
      >
        <form action={formAction} className="space-y-4 p-5">
          <input type="hidden" name="name" value={name} />
          <h2 id="delete-pool-title" className="text-base font-semibold">
            Delete pool {name}?
          </h2>
          {total === 0 ? (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">The pool has no sessions; it is removed at once.</p>
          ) : (
            <>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">
                The engine first drains and deletes its {total} {total === 1 ? 'session' : 'sessions'}, then removes the pool:
              </p>
              <ul aria-label="Sessions to drain" className="grid grid-cols-2 gap-2 text-sm">
                {LANE_STATES.map((laneState) => (
                  <li key={laneState} className="flex items-center justify-between rounded-md border border-zinc-200 px-3 py-2 dark:border-zinc-800">
                    <StateBadge state={laneState} />
                    <span className="tabular-nums">
                      {counts[laneState.toLowerCase() as keyof LaneCounts]}
                    </span>
                  </li>
                ))}
              </ul>
              {counts.allocated > 0 ? (
                <p className="text-sm text-amber-800 dark:text-amber-300">
                  {counts.allocated} allocated {counts.allocated === 1 ? 'session is' : 'sessions are'} in use: their variables and files are lost, and
                  their callers get errors.
                </p>
              ) : null}
            </>
          )}
          {/* Not read by the server: the typed name guards the click, the role guards the action. */}
          <TextField
            label={`Type ${name} to confirm`}
            name="confirmation"
            value={typedName}
            onChange={(event) => setTypedName(event.target.value)}
            autoComplete="off"
            autoCapitalize="off"
            spellCheck={false}
            className="font-mono"
          />
          {state && !state.ok ? <FormMessage state={state} /> : null}
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={() => dialog.current?.close()}>
              Cancel
            </Button>
            <SubmitButton variant="danger" isPending={isPending} pendingLabel="Deleting…" disabled={!isConfirmed}>
              Delete {name}
            </SubmitButton>
          </div>
        </form>
      </dialog>
    </>
  );
}
