import { describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../auth/access';
import { db } from '../db';
import { expectAppError } from '../testing/assertions';
import { createTestServicePrincipal, createTestUser, uniquePoolName } from '../testing/factories';
import { createRoleAssignment, deleteRoleAssignment, listRoleAssignments } from './role-assignments';
import { setUserDisabled } from './users';

describe('role assignments', () => {
  it('assigns Session Executor on a pool to a service principal, by id or client id', async () => {
    const sp = await createTestServicePrincipal();
    const scope = `/sessionPools/${uniquePoolName()}`;
    const assignment = await createRoleAssignment(HOST_OPERATOR, { role: 'Session Executor', scope, principalType: 'servicePrincipal', principalId: sp.clientId });
    expect(assignment).toMatchObject({ role: 'SESSION_EXECUTOR', scope, principalType: 'servicePrincipal', principalId: sp.id });
    expect((await listRoleAssignments(HOST_OPERATOR, { scope })).map((row) => row.id)).toEqual([assignment.id]);
  });

  it('rejects a duplicate with 409, and unknown roles, scopes and principals with clear errors', async () => {
    const user = await createTestUser([{ role: 'READER' }]);
    await expectAppError(createRoleAssignment(HOST_OPERATOR, { role: 'READER', scope: '/', principalType: 'user', principalId: user.id }), 'CONFLICT', /already has the Reader role/);
    await expectAppError(createRoleAssignment(HOST_OPERATOR, { role: 'Superuser', scope: '/', principalType: 'user', principalId: user.id }), 'BAD_REQUEST', /Unknown role/);
    await expectAppError(createRoleAssignment(HOST_OPERATOR, { role: 'READER', scope: '/pools/x', principalType: 'user', principalId: user.id }), 'BAD_REQUEST', /Unknown scope/);
    await expectAppError(createRoleAssignment(HOST_OPERATOR, { role: 'READER', scope: '/', principalType: 'user', principalId: 'usr_doesnotexist' }), 'NOT_FOUND', /no user/);
    expect(await db().roleAssignment.count({ where: { userId: user.id } })).toBe(1);
  });

  it('refuses assignments to a revoked service principal', async () => {
    const sp = await createTestServicePrincipal();
    await db().servicePrincipal.update({ where: { id: sp.id }, data: { revokedAt: new Date() } });
    await expectAppError(createRoleAssignment(HOST_OPERATOR, { role: 'READER', scope: '/', principalType: 'servicePrincipal', principalId: sp.id }), 'CONFLICT', /revoked/);
  });

  it('lets a pool Owner assign on that pool only, and Contributors and Readers not at all', async () => {
    const pool = uniquePoolName();
    const poolOwner = await createTestUser([{ role: 'OWNER', scope: `/sessionPools/${pool}` }]);
    const target = await createTestUser();
    await createRoleAssignment(poolOwner.principal, { role: 'READER', scope: `/sessionPools/${pool}`, principalType: 'user', principalId: target.id });
    await expectAppError(createRoleAssignment(poolOwner.principal, { role: 'READER', scope: '/', principalType: 'user', principalId: target.id }), 'FORBIDDEN');
    for (const role of ['CONTRIBUTOR', 'READER', 'SESSION_EXECUTOR'] as const) {
      const caller = await createTestUser([{ role }]);
      await expectAppError(createRoleAssignment(caller.principal, { role: 'OWNER', scope: '/', principalType: 'user', principalId: caller.id }), 'FORBIDDEN');
    }
    // The pool Owner sees the assignments at their pool, not the installation-wide ones.
    const visible = await listRoleAssignments(poolOwner.principal);
    expect(visible.every((row) => row.scope === `/sessionPools/${pool}`)).toBe(true);
  });

  it('never removes or disables the last active Owner', async () => {
    // Start from a known state: only the owners created here hold Owner at "/".
    await db().roleAssignment.deleteMany({ where: { role: 'OWNER', scope: '/' } });
    const first = await createTestUser([{ role: 'OWNER' }]);
    const second = await createTestUser([{ role: 'OWNER' }]);
    const [firstAssignment, secondAssignment] = await Promise.all(
      [first, second].map((owner) => db().roleAssignment.findFirstOrThrow({ where: { userId: owner.id, role: 'OWNER' }, select: { id: true } })),
    );
    // Both owners remove each other at the same moment: exactly one may succeed.
    const results = await Promise.allSettled([
      deleteRoleAssignment(first.principal, { roleAssignmentId: secondAssignment!.id }),
      deleteRoleAssignment(second.principal, { roleAssignmentId: firstAssignment!.id }),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const remaining = await db().roleAssignment.findFirstOrThrow({ where: { role: 'OWNER', scope: '/' }, select: { id: true, userId: true } });
    const survivor = remaining.userId === first.id ? first : second;
    await expectAppError(deleteRoleAssignment(survivor.principal, { roleAssignmentId: remaining.id }), 'CONFLICT', /leave no Owner/);
    await expectAppError(setUserDisabled(HOST_OPERATOR, { userId: survivor.id }, true), 'CONFLICT', /leave no Owner/);
    expect(await db().user.findUniqueOrThrow({ where: { id: survivor.id }, select: { disabledAt: true } })).toEqual({ disabledAt: null });
  });
});
