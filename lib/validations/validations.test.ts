import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { parseInput } from './common';
import { createRoleAssignmentSchema, principalReference } from './role-assignment';
import { createServicePrincipalSchema } from './service-principal';
import { changePasswordSchema, createUserSchema } from './user';

function fieldErrors(schema: Parameters<typeof parseInput>[0], input: unknown): Record<string, string[]> {
  try {
    parseInput(schema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('BAD_REQUEST');
    return (error as AppError).fieldErrors ?? {};
  }
  throw new Error('expected the input to be rejected');
}

describe('createUserSchema', () => {
  it('normalises the email and accepts a long password', () => {
    expect(parseInput(createUserSchema, { email: ' Ada@Example.COM ', password: 'correct horse battery' })).toEqual({
      email: 'ada@example.com',
      password: 'correct horse battery',
    });
  });

  it.each([
    [{ email: 'not-an-email', password: 'correct horse battery' }, 'email', 'valid email'],
    [{ email: 'ada@example.com', password: 'short' }, 'password', 'at least 12'],
    [{ email: 'ada@example.com', password: 'aaaaaaaaaaaaaaaa' }, 'password', 'repetitive'],
    [{ email: 'ada@example.com', password: 'ada@example.com' }, 'password', 'must not be the email'],
    [{ password: 'correct horse battery' }, 'email', 'Enter an email'],
  ])('rejects %j on %s', (input, field, message) => {
    const errors = fieldErrors(createUserSchema, input);
    expect(errors[field]?.join(' ')).toContain(message);
  });
});

describe('changePasswordSchema', () => {
  it('requires the two new passwords to match', () => {
    const errors = fieldErrors(changePasswordSchema, { currentPassword: 'old password 123', newPassword: 'new password 456', confirmPassword: 'new password 789' });
    expect(errors.confirmPassword?.join(' ')).toContain('differ');
  });
});

describe('createRoleAssignmentSchema', () => {
  it.each(['Session Executor', 'session-executor', 'SessionExecutor', 'SESSION_EXECUTOR', 'session_executor'])('reads role spelling %j', (role) => {
    expect(parseInput(createRoleAssignmentSchema, { role, scope: '/', principalType: 'user', principalId: 'usr_1' }).role).toBe('SESSION_EXECUTOR');
  });

  it('rejects an unknown role and an unknown scope with readable messages', () => {
    const errors = fieldErrors(createRoleAssignmentSchema, { role: 'Admin', scope: '/everything', principalType: 'user', principalId: 'usr_1' });
    expect(errors.role?.join(' ')).toContain('Choose one of: Owner, Contributor, Session Executor, Reader');
    expect(errors.scope?.join(' ')).toContain('Unknown scope');
  });

  it('reads a principal picked from a list or typed in', () => {
    expect(principalReference('user:usr_abc')).toEqual({ principalType: 'user', principalId: 'usr_abc' });
    expect(principalReference('servicePrincipal:sp_abc')).toEqual({ principalType: 'servicePrincipal', principalId: 'sp_abc' });
    expect(principalReference('ada@example.com')).toEqual({ principalType: 'user', principalId: 'ada@example.com' });
    expect(principalReference('0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a')).toMatchObject({ principalType: 'servicePrincipal' });
  });
});

describe('createServicePrincipalSchema', () => {
  it('treats a missing expiry as "never" and bounds the lifetime', () => {
    expect(parseInput(createServicePrincipalSchema, { displayName: 'agent' })).toEqual({ displayName: 'agent' });
    expect(parseInput(createServicePrincipalSchema, { displayName: 'agent', expiresInDays: '30' })).toEqual({ displayName: 'agent', expiresInDays: 30 });
    expect(fieldErrors(createServicePrincipalSchema, { displayName: 'agent', expiresInDays: '9999' }).expiresInDays?.join(' ')).toContain('at most 730');
    expect(fieldErrors(createServicePrincipalSchema, { displayName: ' ' }).displayName?.join(' ')).toContain('Enter a name');
  });
});
