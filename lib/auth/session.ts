import 'server-only';
import { redirect } from 'next/navigation';
import { cache } from 'react';
import type { Principal } from './access';
import { loadUserPrincipal } from '../services/principals';
import { auth } from './next-auth';

/** Who the session cookie says is signed in, and since when (epoch ms); null when signed out. */
const getSignedIn = cache(async (): Promise<{ userId: string; authTime: number } | null> => {
  const session = (await auth()) as { userId?: unknown; authTime?: unknown } | null;
  if (typeof session?.userId !== 'string' || typeof session.authTime !== 'number') return null;
  return { userId: session.userId, authTime: session.authTime };
});

/** The signed-in person for this request, re-read from the database; null when signed out. */
export const getPrincipal = cache(async (): Promise<Principal | null> => {
  const signedIn = await getSignedIn();
  return signedIn ? loadUserPrincipal(signedIn.userId, signedIn.authTime) : null;
});

/**
 * When `principal`'s portal session began (epoch ms), for tokens that must end with it; null
 * when the request carries no session of theirs (a service principal calling with a token).
 */
export async function signInTimeOf(principal: Principal): Promise<number | null> {
  const signedIn = principal.kind === 'user' ? await getSignedIn() : null;
  return signedIn?.userId === principal.id ? signedIn.authTime : null;
}

/** For pages: the signed-in person, or a redirect to the sign-in page. */
export async function requirePrincipal(): Promise<Principal> {
  const principal = await getPrincipal();
  if (!principal) redirect('/login');
  return principal;
}
