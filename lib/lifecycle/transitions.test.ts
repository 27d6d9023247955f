import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, SESSION_STATES, type SessionState } from './transitions';

// Every allowed move, spelled out independently of the table under test.
const ALLOWED = new Set([
  'PENDING>READY', 'PENDING>FAILED', 'PENDING>DELETING',
  'READY>ALLOCATED', 'READY>DELETING',
  'ALLOCATED>DELETING',
  'DELETING>DELETED',
]);

describe('session transitions', () => {
  for (const from of SESSION_STATES) {
    for (const to of SESSION_STATES) {
      const allowed = ALLOWED.has(`${from}>${to}`);
      it(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
        expect(canTransition(from, to)).toBe(allowed);
        if (allowed) expect(() => assertTransition(from, to)).not.toThrow();
        else expect(() => assertTransition(from as SessionState, to)).toThrow(`cannot go from ${from} to ${to}`);
      });
    }
  }
});
