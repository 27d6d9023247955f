import { describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../auth/access';
import { db } from '../db';
import { expectAppError } from '../testing/assertions';
import { createTestUser, TEST_PASSWORD, uniqueEmail } from '../testing/factories';
import { loadUserPrincipal } from './principals';
import { authenticateUser, changeOwnPassword, createUser, listUsers, resetUserPassword, setUserDisabled } from './users';

describe('users', () => {
  it('creates a user who can then sign in, and stores only an argon2id hash', async () => {
    const email = uniqueEmail();
    const user = await createUser(HOST_OPERATOR, { email, password: TEST_PASSWORD });
    const row = await db().user.findUniqueOrThrow({ where: { id: user.id }, select: { passwordHash: true } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row.passwordHash).not.toContain(TEST_PASSWORD);
    expect(await authenticateUser({ email: email.toUpperCase(), password: TEST_PASSWORD })).toMatchObject({ id: user.id, email });
  });

  it('refuses a wrong password, an unknown email and a disabled user the same way', async () => {
    const { id, email } = await createTestUser();
    expect(await authenticateUser({ email, password: 'wrong password here' })).toBeNull();
    expect(await authenticateUser({ email: uniqueEmail('nobody'), password: TEST_PASSWORD })).toBeNull();
    await setUserDisabled(HOST_OPERATOR, { userId: id }, true);
    expect(await authenticateUser({ email, password: TEST_PASSWORD })).toBeNull();
    const denied = await db().auditEvent.findMany({ where: { action: 'auth.signIn', targetLabel: email }, select: { outcome: true, message: true } });
    expect(denied.map((event) => event.message).sort()).toEqual(['account disabled', 'wrong password']);
  });

  it('rejects a duplicate email with 409 and writes nothing', async () => {
    const { email } = await createTestUser();
    const before = await db().user.count();
    await expectAppError(createUser(HOST_OPERATOR, { email, password: TEST_PASSWORD }), 'CONFLICT', /already exists/);
    expect(await db().user.count()).toBe(before);
  });

  it('rejects malformed input with field errors', async () => {
    const error = await expectAppError(createUser(HOST_OPERATOR, { email: 'nope', password: 'short' }), 'BAD_REQUEST');
    expect(Object.keys(error.fieldErrors ?? {}).sort()).toEqual(['email', 'password']);
  });

  it('lets only principals.write create users, and audits the refusal', async () => {
    const reader = await createTestUser([{ role: 'READER' }]);
    const email = uniqueEmail('forged');
    await expectAppError(createUser(reader.principal, { email, password: TEST_PASSWORD }), 'FORBIDDEN', /principals\.write/);
    expect(await db().user.findUnique({ where: { email } })).toBeNull();
    const audit = await db().auditEvent.findFirst({ where: { actorId: reader.id, action: 'user.create' }, orderBy: { id: 'desc' } });
    expect(audit).toMatchObject({ outcome: 'DENIED', targetLabel: email });
    await expect(listUsers(reader.principal)).resolves.toBeInstanceOf(Array);
    const executor = await createTestUser([{ role: 'SESSION_EXECUTOR' }]);
    await expectAppError(listUsers(executor.principal), 'FORBIDDEN');
  });

  it('ends earlier sessions when the password changes', async () => {
    const user = await createTestUser([{ role: 'READER' }]);
    await db().user.update({ where: { id: user.id }, data: { passwordChangedAt: new Date(Date.now() - 60_000) } });
    const signedInAt = Date.now() - 30_000;
    expect(await loadUserPrincipal(user.id, signedInAt)).not.toBeNull();
    await expectAppError(
      changeOwnPassword(user.principal, { currentPassword: 'not my password', newPassword: 'a brand new password', confirmPassword: 'a brand new password' }),
      'BAD_REQUEST',
      /current password/,
    );
    await changeOwnPassword(user.principal, { currentPassword: TEST_PASSWORD, newPassword: 'a brand new password', confirmPassword: 'a brand new password' });
    expect(await loadUserPrincipal(user.id, signedInAt)).toBeNull();
    expect(await loadUserPrincipal(user.id, Date.now())).not.toBeNull();
    expect(await authenticateUser({ email: user.email, password: 'a brand new password' })).not.toBeNull();
  });

  it('re-reads roles from the database for every session', async () => {
    const user = await createTestUser([{ role: 'READER' }]);
    const first = await loadUserPrincipal(user.id, Date.now());
    expect(first?.assignments).toEqual([{ role: 'READER', scope: '/' }]);
    await db().roleAssignment.deleteMany({ where: { userId: user.id } });
    expect((await loadUserPrincipal(user.id, Date.now()))?.assignments).toEqual([]);
  });

  it('resets a password from the host and refuses an unknown user', async () => {
    const user = await createTestUser();
    await resetUserPassword(HOST_OPERATOR, { email: user.email, password: 'reset by the operator' });
    expect(await authenticateUser({ email: user.email, password: 'reset by the operator' })).not.toBeNull();
    await expectAppError(resetUserPassword(HOST_OPERATOR, { email: uniqueEmail(), password: 'reset by the operator' }), 'NOT_FOUND');
  });
});

