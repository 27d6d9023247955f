import 'server-only';
import { redirect } from 'next/navigation';
import { cache } from 'react';
import type { Principal } from './access';
import { loadUserPrincipal } from '../services/principals';
import { auth } from './next-auth';

/** The signed-in person for this request, re-read from the database; null when signed out. */
export const getPrincipal = cache(async (): Promise<Principal | null> => {
  const session = (await auth()) as { userId?: unknown; authTime?: unknown } | null;
  if (typeof session?.userId !== 'string' || typeof session.authTime !== 'number') return null;
  return loadUserPrincipal(session.userId, session.authTime);
});

/** For pages: the signed-in person, or a redirect to the sign-in page. */
export async function requirePrincipal(): Promise<Principal> {
  const principal = await getPrincipal();
  if (!principal) redirect('/login');
  return principal;
}
