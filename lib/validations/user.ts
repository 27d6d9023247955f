import { z } from 'zod';

export const emailSchema = z
  .string({ error: 'Enter an email address.' })
  .trim()
  .toLowerCase()
  .max(254, 'That email address is too long (254 characters at most).')
  .pipe(z.email({ error: 'Enter a valid email address, like ada@example.com.' }));

export const MIN_PASSWORD_LENGTH = 12;

// Length over composition rules (NIST SP 800-63B): long passphrases are both easier to
// remember and harder to guess than short "complex" passwords.
export const passwordSchema = z
  .string({ error: 'Enter a password.' })
  .min(MIN_PASSWORD_LENGTH, `Use at least ${MIN_PASSWORD_LENGTH} characters; a few random words work well.`)
  .max(256, 'Use at most 256 characters.')
  .refine((value) => new Set(value).size >= 4, 'That password is too repetitive; mix in more different characters.');

export const displayNameSchema = z
  .string({ error: 'Enter a name.' })
  .trim()
  .min(1, 'Enter a name.')
  .max(100, 'Use at most 100 characters.');

export const createUserSchema = z
  .object({ email: emailSchema, displayName: displayNameSchema.optional(), password: passwordSchema })
  .refine((input) => input.password.toLowerCase() !== input.email, {
    path: ['password'],
    message: 'The password must not be the email address.',
  });
export type CreateUserInput = z.infer<typeof createUserSchema>;

export const signInSchema = z.object({
  email: z.string().trim().toLowerCase().max(254),
  password: z.string().max(256),
});

export const changePasswordSchema = z
  .object({
    currentPassword: z.string({ error: 'Enter your current password.' }).min(1, 'Enter your current password.'),
    newPassword: passwordSchema,
    confirmPassword: z.string({ error: 'Repeat the new password.' }),
  })
  .refine((input) => input.newPassword === input.confirmPassword, {
    path: ['confirmPassword'],
    message: 'The two new passwords differ; type the same password twice.',
  })
  .refine((input) => input.newPassword !== input.currentPassword, {
    path: ['newPassword'],
    message: 'Choose a password different from the current one.',
  });
export type ChangePasswordInput = z.infer<typeof changePasswordSchema>;

export const userIdSchema = z.object({ userId: z.string().regex(/^usr_[a-z0-9]+$/, 'Unknown user.') });

export const resetPasswordSchema = z.object({ email: emailSchema, password: passwordSchema });
