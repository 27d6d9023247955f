import { z } from 'zod';
import { displayNameSchema } from './user';

const MAX_SECRET_LIFETIME_DAYS = 730;

export const createServicePrincipalSchema = z.object({
  displayName: displayNameSchema,
  /** Days until the secret expires; absent means it never expires. */
  expiresInDays: z.coerce
    .number({ error: 'Enter the number of days until the secret expires.' })
    .int('Use a whole number of days.')
    .min(1, 'A secret must be valid for at least 1 day.')
    .max(MAX_SECRET_LIFETIME_DAYS, `Secrets can be valid for at most ${MAX_SECRET_LIFETIME_DAYS} days (two years); rotate them before then.`)
    .optional(),
});
export type CreateServicePrincipalInput = z.infer<typeof createServicePrincipalSchema>;

export const servicePrincipalIdSchema = z.object({
  /** The sp_… id or the client id (a UUID). */
  servicePrincipalId: z
    .string({ error: 'Say which service principal.' })
    .trim()
    .regex(/^(sp_[a-z0-9]+|[0-9a-fA-F-]{36})$/, 'Unknown service principal: give its client id (a UUID) or its sp_… id.'),
});
