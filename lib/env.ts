// Configuration shared by the portal, the engine and the CLI, validated once on first use
// so a missing or malformed variable fails loudly with its name instead of deep inside a request.
import { z } from 'zod';

const envSchema = z.object({
  DATABASE_URL: z
    .string({ error: 'DATABASE_URL is not set. `npm start` sets it; when running a piece alone, export it (postgresql://user:password@host:port/db).' })
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgresql://'),
  AUTH_SECRET: z
    .string({ error: 'AUTH_SECRET is not set. `npm start` generates one in .sandpool/secrets.json; export it when running a piece alone.' })
    .min(32, 'AUTH_SECRET must be at least 32 characters of randomness.'),
  SANDPOOL_PUBLIC_URL: z.url('SANDPOOL_PUBLIC_URL must be an absolute URL such as http://localhost:3000').default('http://localhost:3000'),
  ENGINE_URL: z.url('ENGINE_URL must be an absolute URL such as http://127.0.0.1:3100').default('http://127.0.0.1:3100'),
  /** The engine's URL as clients see it: pool management endpoints are built from it. */
  ENGINE_PUBLIC_URL: z.url('ENGINE_PUBLIC_URL must be an absolute URL such as http://localhost:3100').default('http://localhost:3100'),
});

export type Env = z.infer<typeof envSchema>;

let cached: Env | undefined;

export function env(): Env {
  if (cached) return cached;
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - ${issue.message}`).join('\n');
    throw new Error(`Sandpool is misconfigured:\n${problems}`);
  }
  cached = parsed.data;
  return cached;
}
