import { expect } from 'vitest';
import { AppError } from '../errors';

/** Awaits `promise`, expecting it to fail with an AppError of `code` (and a matching message). */
export async function expectAppError(promise: Promise<unknown>, code: AppError['code'], message?: string | RegExp): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
  if (message) expect((error as AppError).message).toMatch(message);
  return error as AppError;
}
