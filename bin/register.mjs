// Loader setup for every Node process that runs our TypeScript outside Next.js (the CLI,
// the engine): TypeScript through tsx, and `server-only` as an empty module. `server-only`
// exists to stop lib/ services leaking into browser bundles; outside Next.js there is no
// browser bundle, and the real package would throw on import.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register(
  'data:text/javascript,' +
    encodeURIComponent(
      `export async function resolve(specifier, context, next) {
        if (specifier === 'server-only') return { url: 'data:text/javascript,', shortCircuit: true };
        return next(specifier, context);
      }`,
    ),
  import.meta.url,
);
