/** Shown for every failed sign-in, whatever the reason, so nobody learns which accounts exist. */
export const GENERIC_SIGN_IN_ERROR = 'Incorrect email or password.';
