// The child side of host-commands.ts: runs each command it is sent and sends back the outcome.
// Plain JavaScript so it starts without a TypeScript loader, whatever process forked it.
import { execFile } from 'node:child_process';

process.on('message', ({ id, file, args, timeoutMs }) => {
  execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
    process.send({ id, ok: !error, stdout, stderr, message: error ? error.message : undefined, code: error ? error.code : undefined });
  });
});
// The engine went away (or closed us): nothing left to serve.
process.on('disconnect', () => process.exit(0));
