// The whole data plane (reference §4), one module per group of routes, all sharing context.ts.
import type { FastifyInstance } from 'fastify';
import type { DataPlaneDeps } from './context';
import { registerLegacyExecute } from './execute-legacy';
import { registerExecutions } from './executions';
import { registerFiles } from './files';
import { registerMetadata } from './metadata';
import { registerSessions } from './sessions';
import { registerOpenApi } from '../openapi/data-plane';

export function registerDataPlane(app: FastifyInstance, deps: DataPlaneDeps): void {
  registerLegacyExecute(app, deps);
  registerExecutions(app, deps);
  registerFiles(app, deps);
  registerSessions(app, deps);
  registerMetadata(app, deps);
  registerOpenApi(app);
}
