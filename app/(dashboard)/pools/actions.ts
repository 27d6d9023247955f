'use server';
import { authedAction } from '@/lib/auth/guard';
import { createPool, deletePool, updatePool } from '@/lib/services/pools';

function poolNameFrom(formData: FormData): string {
  return String(formData.get('name') ?? '');
}

export const createPoolAction = authedAction('pools.write', (principal, formData) => createPool(principal, formData), {
  revalidate: ['/pools'],
  message: (pool) => `Created ${pool.name}.`,
});

export const updatePoolAction = authedAction('pools.write', (principal, formData) => updatePool(principal, poolNameFrom(formData), formData), {
  revalidate: ['/pools'],
  message: (pool) => `Saved the settings of ${pool.name}.`,
});

export const deletePoolAction = authedAction('pools.write', (principal, formData) => deletePool(principal, poolNameFrom(formData)), {
  revalidate: ['/pools'],
  message: (pool) => `${pool.name} is being deleted: its sessions are drained first.`,
});
