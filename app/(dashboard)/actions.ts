'use server';
import { authedAction } from '@/lib/auth/guard';
import { signOut } from '@/lib/auth/next-auth';

export const signOutAction = authedAction('authenticated', async () => {
  await signOut({ redirectTo: '/login?notice=signed-out' });
});
