import { z } from 'zod';
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from '../../engine/dataplane/requests';
import { POOL_NAME_PATTERN } from '../auth/scope';

// What the code console sends. The identifier's full rule (reference §3) is the engine's: it
// answers a bad one with a message saying which characters are allowed.

export const consoleRunSchema = z.object({
  pool: z.string({ error: 'Choose a pool to run the code in.' }).regex(POOL_NAME_PATTERN, 'Choose a pool from the list.'),
  identifier: z
    .string({ error: 'Enter a session identifier, or press "New" for a random one.' })
    .trim()
    .min(4, 'Use at least 4 characters.')
    .max(128, 'Use at most 128 characters.'),
  code: z.string({ error: 'Write some code to run.' }).max(256 * 1024, 'The code is longer than 256 KiB; put large data in a file and upload it instead.'),
  timeoutSeconds: z.coerce
    .number({ error: `Enter a timeout from 1 to ${MAX_TIMEOUT_SECONDS} seconds.` })
    .int(`Enter a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}.`)
    .min(1, `Enter a timeout from 1 to ${MAX_TIMEOUT_SECONDS} seconds.`)
    .max(MAX_TIMEOUT_SECONDS, `Executions may run at most ${MAX_TIMEOUT_SECONDS} seconds (Azure's limit).`)
    .default(DEFAULT_TIMEOUT_SECONDS),
});
export type ConsoleRunInput = z.infer<typeof consoleRunSchema>;
