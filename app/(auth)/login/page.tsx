import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { getPrincipal } from '@/lib/auth/session';
import { LoginForm } from './login-form';

export const metadata: Metadata = { title: 'Sign in' };

const NOTICES: Record<string, string> = {
  'password-changed': 'Your password was changed. Sign in with the new one.',
  'signed-out': 'You are signed out.',
};

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string; notice?: string }> }) {
  if (await getPrincipal()) redirect('/');
  const { callbackUrl, notice } = await searchParams;
  const noticeText = notice ? NOTICES[notice] : undefined;
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="w-full max-w-sm">
        <div className="mb-8 text-center">
          <p className="text-2xl font-semibold tracking-tight">Sandpool</p>
          <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">Sign in to manage session pools</p>
        </div>
        <div className="rounded-lg border border-zinc-200 bg-white p-6 shadow-xs dark:border-zinc-800 dark:bg-zinc-900">
          {noticeText ? (
            <p role="status" className="mb-4 rounded-md bg-sky-50 px-3 py-2 text-sm text-sky-800 dark:bg-sky-950 dark:text-sky-300">
              {noticeText}
            </p>
          ) : null}
          <LoginForm callbackUrl={callbackUrl} />
        </div>
        <p className="mt-6 text-center text-xs text-zinc-500">
          Forgot your password? An Owner can reset it, or run <code className="font-mono">npx sandpool user reset-password</code> on the host.
        </p>
      </div>
    </main>
  );
}
