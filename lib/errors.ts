// One error type for everything a caller can be told about. Services throw AppError;
// server actions, route handlers and the CLI turn it into their own shape.

export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  ENGINE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export type FieldErrors = Record<string, string[]>;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fieldErrors?: FieldErrors,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

type PrismaKnownError = { code: string; meta?: { target?: unknown; modelName?: string } };

function isPrismaKnownError(error: unknown): error is PrismaKnownError {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof (error as { code: unknown }).code === 'string' &&
    /^P\d{4}$/.test((error as { code: string }).code)
  );
}

/**
 * Maps an unknown error to an AppError. Unique-constraint and not-found errors from Prisma
 * become CONFLICT and NOT_FOUND; anything else is INTERNAL and its details stay in the log.
 */
export function toAppError(error: unknown, conflictMessage = 'That already exists.'): AppError {
  if (error instanceof AppError) return error;
  if (isPrismaKnownError(error)) {
    if (error.code === 'P2002') return new AppError('CONFLICT', conflictMessage);
    if (error.code === 'P2025') return new AppError('NOT_FOUND', 'It no longer exists; refresh and try again.');
  }
  return new AppError('INTERNAL', 'Something went wrong on our side. The error was logged; try again.');
}
