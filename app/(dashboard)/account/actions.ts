'use server';
import { authedAction } from '@/lib/auth/guard';
import { signOut } from '@/lib/auth/next-auth';
import { changeOwnPassword } from '@/lib/services/users';

export const changePasswordAction = authedAction('authenticated', async (principal, formData) => {
  await changeOwnPassword(principal, formData);
  // The change ends every session, this one included: sign in again with the new password.
  await signOut({ redirectTo: '/login?notice=password-changed' });
});
