import type { ErrorCode, FieldErrors } from '../errors';

/** What a server action returns to its form: the data, or an error a person can act on. */
export type ActionState<T = unknown> =
  | { ok: true; data: T; message?: string }
  | { ok: false; error: { code: ErrorCode; message: string; fieldErrors?: FieldErrors } }
  | null;
