'use server';
import { authedAction } from '@/lib/auth/guard';
import { ROLE_LABELS } from '@/lib/auth/permissions';
import { createRoleAssignment, deleteRoleAssignment } from '@/lib/services/role-assignments';
import { formToObject } from '@/lib/validations/common';
import { principalReference } from '@/lib/validations/role-assignment';

export const createRoleAssignmentAction = authedAction(
  'roleAssignments.write',
  (principal, formData) => {
    const fields = formToObject(formData);
    return createRoleAssignment(principal, { ...fields, ...principalReference(fields.principal) });
  },
  {
    revalidate: ['/role-assignments', '/users', '/service-principals'],
    message: (assignment) => `Assigned ${ROLE_LABELS[assignment.role]} to ${assignment.principalDetail} at ${assignment.scope}.`,
  },
);

export const deleteRoleAssignmentAction = authedAction('roleAssignments.write', (principal, formData) => deleteRoleAssignment(principal, formData), {
  revalidate: ['/role-assignments', '/users', '/service-principals'],
  message: () => 'Role assignment removed.',
});
