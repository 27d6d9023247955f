// Reading data-plane requests the way Azure's clients actually send them (reference §3, §4.1):
// tolerant of envelope, field names and casing, strict about anything that would run the
// wrong code or touch the wrong session.

export class DataPlaneError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DataPlaneError';
  }
}

// Azure's published pattern for SessionIdentifier (reference §3).
const IDENTIFIER_PATTERN = /^[a-zA-Z0-9_|}{[\]:"";'<>?/.,@#$%^&*()\-+=!~`]{4,128}$/;

export function parseIdentifier(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') {
    throw new DataPlaneError(400, 'SessionRequestValidationFailed', 'The query parameter "identifier" is required: name the session, for example ?identifier=my-session-1.');
  }
  if (!IDENTIFIER_PATTERN.test(raw)) {
    throw new DataPlaneError(
      400,
      'SessionRequestValidationFailed',
      `The identifier "${raw.slice(0, 140)}" is not valid: use 4 to 128 characters, letters, digits and | - & ^ % $ # ( ) { } [ ] ; < > _ : " ' ? / . , @ * + = ! ~.`,
    );
  }
  return raw;
}

/** Azure's limit on one execution (reference §4.8). */
export const MAX_TIMEOUT_SECONDS = 220;
export const DEFAULT_TIMEOUT_SECONDS = 120;

/** Azure's default cut of stdout and stderr on /executions (reference §4.8), in characters. */
export const DEFAULT_OUTPUT_STREAMS_MAX_LENGTH = 4096;

export type ExecuteRequest = {
  code: string;
  timeoutSeconds: number;
  asynchronous: boolean;
  /** /executions only: stdout and stderr are each cut to this many characters. */
  outputStreamsMaxLength: number;
  /** /executions only: numbers and booleans come back as JSON text, as Jupyter would show them. */
  returnJupyterFormat: boolean;
};

function lower(value: unknown): string | undefined {
  return typeof value === 'string' ? value.trim().toLowerCase() : undefined;
}

/** Accepts the body flat or wrapped in `properties`, with `code` or `pythonCode`, enums in any case. */
export function parseExecuteRequest(body: unknown, options: { allowAsynchronous: boolean }): ExecuteRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DataPlaneError(400, 'SessionPropertiesMissing', 'Send a JSON object such as {"properties": {"codeInputType": "inline", "executionType": "synchronous", "code": "print(1)"}}.');
  }
  const wrapped = (body as { properties?: unknown }).properties;
  const properties = (typeof wrapped === 'object' && wrapped !== null ? wrapped : body) as Record<string, unknown>;
  const rawCode = properties.code ?? properties.pythonCode;
  if (rawCode === undefined && (properties.shellCommand !== undefined || properties.execCommandAndArgs !== undefined)) {
    throw new DataPlaneError(400, 'SessionRequestNotSupported', 'shellCommand and execCommandAndArgs run on Shell pools; this pool runs Python: put the Python source in "code".');
  }
  if (typeof rawCode !== 'string') {
    throw new DataPlaneError(400, 'SessionPropertiesMissing', 'The request has no code: put the Python source in "code" (or "properties.code").');
  }
  const inputType = lower(properties.codeInputType) ?? 'inline';
  let code = rawCode;
  if (inputType === 'inlinebase64') {
    const decoded = Buffer.from(rawCode, 'base64');
    if (decoded.toString('base64').replace(/=+$/, '') !== rawCode.replace(/\s/g, '').replace(/=+$/, '')) {
      throw new DataPlaneError(400, 'SessionRequestValidationFailed', 'codeInputType is InlineBase64 but "code" is not valid base64.');
    }
    code = decoded.toString('utf8');
  } else if (inputType !== 'inline' && inputType !== 'inlinetext') {
    throw new DataPlaneError(400, 'SessionRequestValidationFailed', `Unknown codeInputType "${String(properties.codeInputType)}": use Inline or InlineBase64.`);
  }
  if (code.trim() === '') throw new DataPlaneError(400, 'SessionRequestValidationFailed', 'The code to run is empty.');
  const executionType = lower(properties.executionType) ?? 'synchronous';
  if (executionType !== 'synchronous' && executionType !== 'asynchronous') {
    throw new DataPlaneError(400, 'SessionRequestValidationFailed', `Unknown executionType "${String(properties.executionType)}": use Synchronous or Asynchronous.`);
  }
  if (executionType === 'asynchronous' && !options.allowAsynchronous) {
    throw new DataPlaneError(400, 'SessionRequestNotSupported', 'Asynchronous execution is not available on code/execute; send executionType "synchronous".');
  }
  const rawTimeout = properties.timeoutInSeconds ?? properties.timeout;
  let timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
  if (rawTimeout !== undefined && rawTimeout !== null) {
    timeoutSeconds = Number(rawTimeout);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      throw new DataPlaneError(400, 'SessionRequestValidationFailed', `timeoutInSeconds must be between 1 and ${MAX_TIMEOUT_SECONDS}; got ${JSON.stringify(rawTimeout)}.`);
    }
  }
  const rawMaxLength = properties.outputStreamsMaxLength;
  let outputStreamsMaxLength = DEFAULT_OUTPUT_STREAMS_MAX_LENGTH;
  if (rawMaxLength !== undefined && rawMaxLength !== null) {
    outputStreamsMaxLength = Number(rawMaxLength);
    if (!Number.isSafeInteger(outputStreamsMaxLength) || outputStreamsMaxLength < 0) {
      throw new DataPlaneError(400, 'SessionRequestValidationFailed', `outputStreamsMaxLength must be a whole number of characters, 0 or more; got ${JSON.stringify(rawMaxLength)}.`);
    }
  }
  const returnJupyterFormat = parseFlag(properties.returnJupyterFormatExecutionResult ?? properties.returnJupyterFormat, 'returnJupyterFormatExecutionResult');
  return { code, timeoutSeconds, asynchronous: executionType === 'asynchronous', outputStreamsMaxLength, returnJupyterFormat };
}

function parseFlag(raw: unknown, name: string): boolean {
  if (raw === undefined || raw === null || raw === false || lower(raw) === 'false') return false;
  if (raw === true || lower(raw) === 'true') return true;
  throw new DataPlaneError(400, 'SessionRequestValidationFailed', `${name} must be true or false; got ${JSON.stringify(raw)}.`);
}
