'use server';
import { authedAction } from '@/lib/auth/guard';
import { runConsoleCode } from '@/lib/services/sessions';

/** Runs the console's code through the engine's data plane as the signed-in person (sessions.execute on the pool). */
export const runCodeAction = authedAction('sessions.execute', (principal, formData) => runConsoleCode(principal, formData));
