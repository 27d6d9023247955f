import { z } from 'zod';
import type { FieldErrors } from '../errors';
import { AppError } from '../errors';

/** Turns FormData (or a plain object) into the object a schema expects; blank fields become undefined. */
export function formToObject(input: FormData | Record<string, unknown>): Record<string, unknown> {
  if (!(input instanceof FormData)) return input;
  const out: Record<string, unknown> = {};
  for (const [key, value] of input.entries()) {
    if (key.startsWith('$ACTION')) continue;
    if (typeof value === 'string' && value.trim() === '') continue;
    out[key] = value;
  }
  return out;
}

export function fieldErrorsOf(error: z.ZodError): FieldErrors {
  const fields: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.length > 0 ? issue.path.join('.') : '_form';
    (fields[key] ??= []).push(issue.message);
  }
  return fields;
}

/** Parses input or throws a BAD_REQUEST AppError whose message lists every problem. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input instanceof FormData ? formToObject(input) : input);
  if (parsed.success) return parsed.data;
  const fieldErrors = fieldErrorsOf(parsed.error);
  const summary = Object.entries(fieldErrors)
    .map(([field, messages]) => (field === '_form' ? messages.join(' ') : `${field}: ${messages.join(' ')}`))
    .join('; ');
  throw new AppError('BAD_REQUEST', summary, fieldErrors);
}
