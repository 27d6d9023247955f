import { AppError, toAppError } from '../errors';

// Azure's error code strings for each of our error codes (Azure.Core / ARM style bodies).
const AZURE_CODES: Record<AppError['code'], string> = {
  BAD_REQUEST: 'BadRequest',
  UNAUTHORIZED: 'Unauthorized',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'NotFound',
  CONFLICT: 'Conflict',
  RATE_LIMITED: 'TooManyRequests',
  ENGINE_UNAVAILABLE: 'ServiceUnavailable',
  INTERNAL: 'InternalServerError',
};

/** `{"error":{"code","message"}}` with the `x-ms-error-code` header, as Azure answers. */
export function errorResponse(error: unknown): Response {
  const appError = toAppError(error);
  if (appError.code === 'INTERNAL') console.error('[api] unexpected error', error);
  const code = AZURE_CODES[appError.code];
  const body: { error: { code: string; message: string; details?: { target: string; message: string }[] } } = {
    error: { code, message: appError.message },
  };
  if (appError.fieldErrors) {
    body.error.details = Object.entries(appError.fieldErrors).flatMap(([target, messages]) => messages.map((message) => ({ target, message })));
  }
  const headers: Record<string, string> = { 'x-ms-error-code': code };
  if (appError.code === 'UNAUTHORIZED') headers['www-authenticate'] = 'Bearer';
  return Response.json(body, { status: appError.status, headers });
}

export { AppError };
