// The Prisma client, one per process. The driver adapter keeps Prisma 7 free of native
// engines (none can be downloaded here), and the global `omit` means a password or secret
// hash never leaves the database layer unless a query asks for it by name.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';
import { env } from './env';

function createClient() {
  const adapter = new PrismaPg({ connectionString: env().DATABASE_URL, max: 10 });
  return new PrismaClient({
    adapter,
    omit: { user: { passwordHash: true }, servicePrincipal: { secretHash: true }, signingKey: { privateJwkEncrypted: true } },
    // Prisma's defaults (2 s to get a connection, 5 s per transaction) fail audited writes on a
    // busy small host; these still end a transaction that is truly stuck.
    transactionOptions: { maxWait: 10_000, timeout: 20_000 },
  });
}

export type Database = ReturnType<typeof createClient>;
export type Transaction = Parameters<Parameters<Database['$transaction']>[0]>[0];

const globalForPrisma = globalThis as unknown as { sandpoolPrisma?: Database };

export function db(): Database {
  globalForPrisma.sandpoolPrisma ??= createClient();
  return globalForPrisma.sandpoolPrisma;
}
