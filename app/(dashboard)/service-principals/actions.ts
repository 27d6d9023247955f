'use server';
import { authedAction } from '@/lib/auth/guard';
import { createServicePrincipal, revokeServicePrincipal } from '@/lib/services/service-principals';

export const createServicePrincipalAction = authedAction(
  'principals.write',
  (principal, formData) => createServicePrincipal(principal, formData),
  { revalidate: ['/service-principals'] },
);

export const revokeServicePrincipalAction = authedAction(
  'principals.write',
  (principal, formData) => revokeServicePrincipal(principal, formData),
  { revalidate: ['/service-principals'], message: (sp) => `Revoked ${sp.displayName}. Its secret and tokens no longer work.` },
);
