// next-auth (Auth.js v5, pinned) handles the sign-in form and the session cookie. It only
// proves *who* a person is: every request re-reads the user and their roles from Postgres
// (lib/auth/session.ts), so a cookie never carries authority of its own.
import NextAuth from 'next-auth';
import Credentials from 'next-auth/providers/credentials';
import { authenticateUser } from '../services/users';

const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;

export const { handlers, auth, signIn, signOut } = NextAuth({
  trustHost: true,
  session: { strategy: 'jwt', maxAge: SESSION_MAX_AGE_SECONDS },
  pages: { signIn: '/login' },
  providers: [
    Credentials({
      credentials: { email: { label: 'Email' }, password: { label: 'Password', type: 'password' } },
      authorize: (credentials) => authenticateUser(credentials),
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      // Auth.js re-stamps `iat` whenever it refreshes the cookie, so the moment of sign-in is
      // kept in a claim of our own: a password change ends every session that began before it.
      if (user?.id) {
        token.sub = user.id;
        token.authTime = Date.now();
      }
      return token;
    },
    session({ session, token }) {
      return { ...session, userId: token.sub, authTime: token.authTime };
    },
  },
});
