import Link from 'next/link';
import type { ComponentProps } from 'react';
import { cn } from '@/lib/ui/cn';

const VARIANTS = {
  primary: 'bg-sky-600 text-white hover:bg-sky-700',
  secondary:
    'border border-zinc-300 bg-white text-zinc-900 hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 dark:hover:bg-zinc-800',
} as const;

/** A link that looks like a button, for actions that open a page (create, edit). */
export function ButtonLink({ variant = 'primary', className, ...props }: ComponentProps<typeof Link> & { variant?: keyof typeof VARIANTS }) {
  return <Link className={cn('inline-flex items-center justify-center gap-2 rounded-md px-3.5 py-2 text-sm font-medium transition-colors', VARIANTS[variant], className)} {...props} />;
}
