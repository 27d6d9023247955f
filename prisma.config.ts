// Prisma 7 reads its paths and connection settings from here instead of from the schema.
// The URL is optional on purpose: `prisma generate` needs no database, and Sandpool's own
// CLI applies migrations itself (docs/decisions/0002-offline-prisma-migrations.md), so a
// missing DATABASE_URL must not break code generation.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL },
});
