import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      '@/': fileURLToPath(new URL('./', import.meta.url)),
      // Outside Next.js there is no client bundle to protect; the real package would throw.
      'server-only': fileURLToPath(new URL('./lib/testing/server-only-stub.ts', import.meta.url)),
    },
  },
  test: {
    environment: 'node',
    include: ['{lib,engine,cli,app}/**/*.test.ts'],
    // Some integration tests check installation-wide invariants (there is always an Owner),
    // so test files run one after another against the shared database.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // next-auth imports `next/server` without a file extension, which Node's ESM resolver
    // refuses; letting Vite process it resolves the import the way Next.js does.
    server: { deps: { inline: ['next-auth', '@auth/core'] } },
    setupFiles: ['./lib/testing/require-env.ts'],
  },
});
