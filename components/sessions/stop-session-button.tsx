'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Button } from '@/components/ui/button';
import type { ActionState } from '@/lib/auth/action-state';
import { useLiveSession } from './session-live';

/**
 * Stops the session through the engine (DELETE /session), after asking. The state badge follows
 * the engine (Deleting, then Deleted) while the request runs; the page re-renders when it is done.
 */
export function StopSessionButton<T>({ sessionId, action }: { sessionId: string; action: (previous: ActionState<T>, formData: FormData) => Promise<ActionState<T>> }) {
  const router = useRouter();
  const { state, isStopping, setStopping } = useLiveSession();
  const [problem, setProblem] = useState<string | null>(null);
  if (state !== 'ALLOCATED') return null;
  const stop = async () => {
    if (!window.confirm('Stop this session? Its sandbox is deleted with its variables and files; the identifier gets a fresh, empty session on its next request.')) return;
    setStopping(true);
    setProblem(null);
    const form = new FormData();
    form.set('sessionId', sessionId);
    const result = await action(null, form);
    setStopping(false);
    if (result && !result.ok) setProblem(result.error.message);
    router.refresh();
  };
  return (
    <div className="flex flex-col items-end gap-1">
      <Button variant="danger" onClick={() => void stop()} disabled={isStopping} aria-busy={isStopping}>
        {isStopping ? 'Stopping…' : 'Stop session'}
      </Button>
      {problem ? (
        <span role="alert" className="max-w-xs text-right text-xs text-red-600 dark:text-red-400">
          {problem}
        </span>
      ) : null}
    </div>
  );
}
