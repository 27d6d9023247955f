import { bootstrapOwner as bootstrap, type BootstrapResult } from '../lib/services/users';

/** Creates the first Owner from SANDPOOL_ADMIN_EMAIL / SANDPOOL_ADMIN_PASSWORD, or with a generated password. */
export function bootstrapOwner(): Promise<BootstrapResult> {
  return bootstrap({ email: process.env.SANDPOOL_ADMIN_EMAIL, password: process.env.SANDPOOL_ADMIN_PASSWORD });
}
