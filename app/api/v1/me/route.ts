import { apiRoute } from '@/lib/auth/guard';
import { ROLE_LABELS } from '@/lib/auth/permissions';

// GET /api/v1/me — who the caller is and the roles they hold (any authenticated caller)
export const GET = apiRoute('authenticated', async (_request, principal) =>
  Response.json({
    kind: principal.kind,
    id: principal.id,
    name: principal.label,
    roleAssignments: principal.assignments.map((assignment) => ({ role: ROLE_LABELS[assignment.role], scope: assignment.scope })),
  }),
);
