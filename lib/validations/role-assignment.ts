import { z } from 'zod';
import { ROLES, type Role } from '../auth/permissions';
import { parseScope } from '../auth/scope';

// People and tools spell roles many ways ("Session Executor", "session-executor",
// "SessionExecutor", "SESSION_EXECUTOR"); all of them mean the same role.
function normalizeRole(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const compact = value.replace(/[\s_-]/g, '').toUpperCase();
  return ROLES.find((role) => role.replace(/_/g, '') === compact) ?? value;
}

export const roleSchema = z.preprocess(
  normalizeRole,
  z.enum(ROLES, { error: `Unknown role. Choose one of: Owner, Contributor, Session Executor, Reader.` }),
) as z.ZodType<Role>;

export const scopeSchema = z
  .string({ error: 'Choose a scope: "/" for every pool or "/sessionPools/<name>".' })
  .transform((value, context) => {
    const parsed = parseScope(value);
    if (!parsed.ok) {
      context.addIssue({ code: 'custom', message: parsed.message });
      return z.NEVER;
    }
    return parsed.canonical;
  });

export const createRoleAssignmentSchema = z.object({
  role: roleSchema,
  scope: scopeSchema,
  principalType: z.enum(['user', 'servicePrincipal'], { error: 'Choose a user or a service principal.' }),
  principalId: z.string({ error: 'Choose who gets the role.' }).min(1, 'Choose who gets the role.'),
});
export type CreateRoleAssignmentInput = z.infer<typeof createRoleAssignmentSchema>;

export const roleAssignmentIdSchema = z.object({
  roleAssignmentId: z.string().regex(/^ra_[a-z0-9]+$/, 'Unknown role assignment.'),
});

/**
 * Reads the "who" of an assignment from one form field: "user:<id>" or
 * "servicePrincipal:<id>" from a picker, or a typed email (a user) or client id (a service principal).
 */
export function principalReference(value: unknown): { principalType?: 'user' | 'servicePrincipal'; principalId?: string } {
  if (typeof value !== 'string' || value.trim() === '') return {};
  const text = value.trim();
  const match = /^(user|servicePrincipal):(.+)$/.exec(text);
  if (match) return { principalType: match[1] as 'user' | 'servicePrincipal', principalId: match[2] };
  return { principalType: text.includes('@') ? 'user' : 'servicePrincipal', principalId: text };
}
