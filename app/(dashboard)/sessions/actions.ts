'use server';
import { authedAction } from '@/lib/auth/guard';
import { stopSession } from '@/lib/services/sessions';

/** Stops a session through the engine's data plane as the signed-in person (sessions.execute on its pool). */
export const stopSessionAction = authedAction('sessions.execute', (principal, formData) => stopSession(principal, String(formData.get('sessionId') ?? '')), {
  message: (session) => `Session ${session.id} stopped.`,
});
