'use server';
import { AuthError } from 'next-auth';
import type { ActionState } from '@/lib/auth/action-state';
import { publicAction } from '@/lib/auth/guard';
import { signIn } from '@/lib/auth/next-auth';
import { GENERIC_SIGN_IN_ERROR } from '@/lib/services/sign-in-messages';

function safeRedirectTarget(value: FormDataEntryValue | null): string {
  // Only same-site paths: an open redirect would let a phishing link bounce through us.
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/';
}

export const signInAction = publicAction(
  'Sign-in has to be reachable by people who are not signed in yet',
  async (_previous: ActionState<null>, formData: FormData): Promise<ActionState<null>> => {
    try {
      await signIn('credentials', {
        email: formData.get('email'),
        password: formData.get('password'),
        redirectTo: safeRedirectTarget(formData.get('callbackUrl')),
      });
      return { ok: true, data: null };
    } catch (error) {
      if (error instanceof AuthError) return { ok: false, error: { code: 'UNAUTHORIZED', message: GENERIC_SIGN_IN_ERROR } };
      throw error;
    }
  },
);
