import Link from 'next/link';
import type { ReactNode } from 'react';
import { NavLink } from '@/components/shell/nav-link';
import { SignOutButton } from '@/components/shell/sign-out-button';
import { canAnywhere } from '@/lib/auth/access';
import { requirePrincipal } from '@/lib/auth/session';

export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const principal = await requirePrincipal();
  const links = [
    { href: '/', label: 'Overview', visible: true },
    { href: '/pools', label: 'Pools', visible: canAnywhere(principal, 'pools.read') },
    { href: '/console', label: 'Console', visible: canAnywhere(principal, 'sessions.execute') },
    { href: '/users', label: 'Users', visible: canAnywhere(principal, 'principals.read') },
    { href: '/service-principals', label: 'Service principals', visible: canAnywhere(principal, 'principals.read') },
    { href: '/role-assignments', label: 'Role assignments', visible: canAnywhere(principal, 'roleAssignments.read') },
    { href: '/audit', label: 'Audit log', visible: canAnywhere(principal, 'audit.read') },
    { href: '/account', label: 'Account', visible: true },
  ];
  return (
    <div className="min-h-screen md:flex">
      <aside className="border-b border-zinc-200 bg-white md:sticky md:top-0 md:h-screen md:w-60 md:shrink-0 md:border-r md:border-b-0 dark:border-zinc-800 dark:bg-zinc-900">
        <div className="flex items-center justify-between px-5 py-4">
          <Link href="/" className="text-lg font-semibold tracking-tight">
            Sandpool
          </Link>
        </div>
        <nav aria-label="Main" className="px-3 pb-4">
          <ul className="flex gap-1 overflow-x-auto md:flex-col">
            {links
              .filter((link) => link.visible)
              .map((link) => (
                <li key={link.href}>
                  <NavLink href={link.href}>{link.label}</NavLink>
                </li>
              ))}
          </ul>
        </nav>
      </aside>
      <div className="flex-1">
        <header className="flex items-center justify-end gap-3 border-b border-zinc-200 px-6 py-3 dark:border-zinc-800">
          <span className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="signed-in-as">
            {principal.label}
          </span>
          <SignOutButton />
        </header>
        <main className="mx-auto max-w-6xl px-6 py-8">{children}</main>
      </div>
    </div>
  );
}
