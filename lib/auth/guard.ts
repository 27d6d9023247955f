import 'server-only';
// The one gate in front of every server action and route handler. Each export of an
// `actions.ts` or `route.ts` is built with one of these wrappers, and a test walks the app
// to prove none is missing (lib/auth/guard-inventory.test.ts).
import { revalidatePath } from 'next/cache';
import { unstable_rethrow } from 'next/navigation';
import { canAnywhere, type Principal } from './access';
import type { Permission } from './permissions';
import { getPrincipal } from './session';
import { AppError, toAppError } from '../errors';
import type { ActionState } from './action-state';
import { errorResponse } from '../http/errors';
import { recordDenied } from '../services/audit';
import { bearerTokenFrom, verifyAccessToken } from '../tokens/access-token';
import { MANAGEMENT_AUDIENCE } from '../tokens/audiences';

export type GuardInfo =
  | { kind: 'action' | 'route'; access: 'permission'; permission: Permission }
  | { kind: 'action' | 'route'; access: 'authenticated' }
  | { kind: 'action' | 'route'; access: 'public'; reason: string };

const GUARD = Symbol.for('sandpool.guard');

function tag<F extends object>(fn: F, info: GuardInfo): F {
  Object.defineProperty(fn, GUARD, { value: info, enumerable: false });
  return fn;
}

/** How an action or route handler is guarded, or undefined when it is not. */
export function guardOf(fn: unknown): GuardInfo | undefined {
  return typeof fn === 'function' ? (fn as unknown as Record<symbol, GuardInfo | undefined>)[GUARD] : undefined;
}

function failure(error: AppError): ActionState<never> {
  return { ok: false, error: { code: error.code, message: error.message, fieldErrors: error.fieldErrors } };
}

type ActionOptions<T> = { revalidate?: string[]; message?: (data: T) => string };

/**
 * A server action for a signed-in person holding `permission` somewhere ("authenticated":
 * any signed-in person). Services make the precise, scope-aware check; this one refuses
 * early, audits the refusal and turns every error into a readable ActionState.
 */
export function authedAction<T>(
  permission: Permission | 'authenticated',
  run: (principal: Principal, formData: FormData) => Promise<T>,
  options: ActionOptions<T> = {},
) {
  const action = async (_previous: ActionState<T>, formData: FormData): Promise<ActionState<T>> => {
    const principal = await getPrincipal();
    if (!principal) return failure(new AppError('UNAUTHORIZED', 'Your session has ended. Sign in again to continue.'));
    if (permission !== 'authenticated' && !canAnywhere(principal, permission)) {
      const message = `You need the "${permission}" permission for this. Ask an Owner to assign you a role that includes it.`;
      await recordDenied(principal, `action.${permission}`, message);
      return failure(new AppError('FORBIDDEN', message));
    }
    try {
      const data = await run(principal, formData);
      for (const path of options.revalidate ?? []) revalidatePath(path);
      return { ok: true, data, message: options.message?.(data) };
    } catch (error) {
      unstable_rethrow(error);
      const appError = toAppError(error);
      if (appError.code === 'INTERNAL') console.error('[action] unexpected error', error);
      return failure(appError);
    }
  };
  return tag(action, permission === 'authenticated' ? { kind: 'action', access: 'authenticated' } : { kind: 'action', access: 'permission', permission });
}

/** A server action anyone may call (sign-in). `reason` says why it needs no guard. */
export function publicAction<A extends unknown[], R>(reason: string, action: (...args: A) => Promise<R>) {
  const wrapped = async (...args: A): Promise<R> => action(...args);
  return tag(wrapped, { kind: 'action', access: 'public', reason });
}

type RouteContext = { params: Promise<Record<string, string | string[]>> };
type RouteHandler = (request: Request, context: RouteContext) => Promise<Response>;

async function principalFromRequest(request: Request): Promise<Principal | null> {
  if (request.headers.has('authorization')) {
    return verifyAccessToken(bearerTokenFrom(request.headers.get('authorization')), MANAGEMENT_AUDIENCE);
  }
  return getPrincipal();
}

/**
 * A route handler for a caller holding `permission` somewhere: a signed-in person (cookie) or
 * a service principal with a management-audience bearer token.
 */
export function apiRoute(
  permission: Permission | 'authenticated',
  handler: (request: Request, principal: Principal, context: RouteContext) => Promise<Response>,
): RouteHandler {
  const route: RouteHandler = async (request, context) => {
    try {
      const principal = await principalFromRequest(request);
      if (!principal) throw new AppError('UNAUTHORIZED', 'Authentication required: sign in, or send "Authorization: Bearer <token>" with a management token.');
      if (permission !== 'authenticated' && !canAnywhere(principal, permission)) {
        const message = `You need the "${permission}" permission for this. Ask an Owner to assign you a role that includes it.`;
        await recordDenied(principal, `api.${permission}`, message);
        throw new AppError('FORBIDDEN', message);
      }
      return await handler(request, principal, context);
    } catch (error) {
      return errorResponse(error);
    }
  };
  return tag(route, permission === 'authenticated' ? { kind: 'route', access: 'authenticated' } : { kind: 'route', access: 'permission', permission });
}

/** A route anyone may call (token endpoint, public keys, health). `reason` says why. */
export function publicRoute<A extends unknown[]>(reason: string, handler: (...args: A) => Promise<Response> | Response) {
  // A fresh function per route: one handler may serve several routes, and each gets its own tag.
  const route = async (...args: A): Promise<Response> => handler(...args);
  return tag(route, { kind: 'route', access: 'public', reason });
}
