import { describe, expect, it } from 'vitest';
import { DataPlaneError, parseExecuteRequest, parseIdentifier } from './requests';

function failure(run: () => unknown): DataPlaneError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DataPlaneError);
    return error as DataPlaneError;
  }
  throw new Error('expected a DataPlaneError');
}

describe('parseIdentifier', () => {
  it.each(['abcd', '8f3c2b1e-5d4a-4c3b-9a8f-7e6d5c4b3a21', 'user|42&(x)', 'a'.repeat(128), 'conv:1/2.3@x']) ('accepts %j', (identifier) => {
    expect(parseIdentifier(identifier)).toBe(identifier);
  });

  it.each([undefined, '', 'abc', 'a'.repeat(129), 'has space', 'tab\there', 'ünïcode'])('rejects %j with SessionRequestValidationFailed', (identifier) => {
    const error = failure(() => parseIdentifier(identifier));
    expect(error.status).toBe(400);
    expect(error.code).toBe('SessionRequestValidationFailed');
  });
});

describe('parseExecuteRequest', () => {
  const legacy = { allowAsynchronous: false };

  it('reads the wrapped legacy body', () => {
    expect(parseExecuteRequest({ properties: { codeInputType: 'inline', executionType: 'synchronous', code: 'print(1)' } }, legacy)).toEqual({
      code: 'print(1)',
      timeoutSeconds: 120,
      asynchronous: false,
      outputStreamsMaxLength: 4096,
      returnJupyterFormat: false,
    });
  });

  it('reads a flat body, pythonCode, any enum casing and a timeout', () => {
    expect(parseExecuteRequest({ codeInputType: 'Inline', executionType: 'Synchronous', pythonCode: '1+1', timeoutInSeconds: 100, identifier: 'x', extra: true }, legacy)).toEqual({
      code: '1+1',
      timeoutSeconds: 100,
      asynchronous: false,
      outputStreamsMaxLength: 4096,
      returnJupyterFormat: false,
    });
  });

  it('reads the new contract\'s options', () => {
    const parsed = parseExecuteRequest({ code: '1', executionType: 'ASYNCHRONOUS', outputStreamsMaxLength: 10, returnJupyterFormatExecutionResult: 'True' }, { allowAsynchronous: true });
    expect(parsed).toMatchObject({ asynchronous: true, outputStreamsMaxLength: 10, returnJupyterFormat: true });
    expect(parseExecuteRequest({ code: '1', returnJupyterFormat: true }, legacy).returnJupyterFormat).toBe(true);
    expect(parseExecuteRequest({ code: '1', outputStreamsMaxLength: 0 }, legacy).outputStreamsMaxLength).toBe(0);
  });

  it('decodes InlineBase64', () => {
    const code = Buffer.from('print("hé")').toString('base64');
    expect(parseExecuteRequest({ properties: { codeInputType: 'InlineBase64', code } }, legacy).code).toBe('print("hé")');
    expect(failure(() => parseExecuteRequest({ properties: { codeInputType: 'InlineBase64', code: 'not base64!' } }, legacy)).message).toContain('base64');
  });

  it.each([
    [null, 'SessionPropertiesMissing'],
    [[], 'SessionPropertiesMissing'],
    [{ properties: {} }, 'SessionPropertiesMissing'],
    [{ code: 42 }, 'SessionPropertiesMissing'],
    [{ code: '   ' }, 'SessionRequestValidationFailed'],
    [{ code: '1', timeoutInSeconds: 0 }, 'SessionRequestValidationFailed'],
    [{ code: '1', timeoutInSeconds: 221 }, 'SessionRequestValidationFailed'],
    [{ code: '1', timeoutInSeconds: 'soon' }, 'SessionRequestValidationFailed'],
    [{ code: '1', codeInputType: 'file' }, 'SessionRequestValidationFailed'],
    [{ code: '1', executionType: 'asynchronous' }, 'SessionRequestNotSupported'],
    [{ shellCommand: 'ls' }, 'SessionRequestNotSupported'],
    [{ execCommandAndArgs: ['ls', '-a'] }, 'SessionRequestNotSupported'],
    [{ code: '1', outputStreamsMaxLength: -1 }, 'SessionRequestValidationFailed'],
    [{ code: '1', outputStreamsMaxLength: 1.5 }, 'SessionRequestValidationFailed'],
    [{ code: '1', returnJupyterFormatExecutionResult: 'maybe' }, 'SessionRequestValidationFailed'],
  ])('rejects %j with %s', (body, code) => {
    const error = failure(() => parseExecuteRequest(body, legacy));
    expect(error.status).toBe(400);
    expect(error.code).toBe(code);
  });
});
