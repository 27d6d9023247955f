'use server';
import { authedAction } from '@/lib/auth/guard';
import { createUser, setUserDisabled } from '@/lib/services/users';

export const createUserAction = authedAction('principals.write', (principal, formData) => createUser(principal, formData), {
  revalidate: ['/users'],
  message: (user) => `Created ${user.email}. Share the password with them over a safe channel; they can change it under Account.`,
});

export const disableUserAction = authedAction('principals.write', (principal, formData) => setUserDisabled(principal, formData, true), {
  revalidate: ['/users'],
  message: (user) => `${user.email} can no longer sign in.`,
});

export const enableUserAction = authedAction('principals.write', (principal, formData) => setUserDisabled(principal, formData, false), {
  revalidate: ['/users'],
  message: (user) => `${user.email} can sign in again.`,
});
