import { randomBytes } from 'node:crypto';

// Lowercase, DNS-safe alphabet: an id can double as a containerd container id or label value.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random id with a readable prefix, e.g. `usr_k3j9…` (prefix names the kind of thing). */
export function newId(prefix: 'usr' | 'sp' | 'ra' | 'pool' | 'ses' | 'key', length = 20): string {
  const bytes = randomBytes(length);
  let body = '';
  for (const byte of bytes) body += ALPHABET[byte % ALPHABET.length];
  return `${prefix}_${body}`;
}
