import { describe, expect, it } from 'vitest';
import { parseScope, scopeCovers } from './scope';

describe('parseScope', () => {
  it.each([
    ['/', '/'],
    [' / ', '/'],
    ['/sessionPools/demo', '/sessionPools/demo'],
    ['/sessionPools/a12', '/sessionPools/a12'],
  ])('accepts %j', (raw, canonical) => {
    const result = parseScope(raw);
    expect(result).toMatchObject({ ok: true, canonical });
  });

  it.each([
    ['', 'Unknown scope'],
    ['/pools/demo', 'Unknown scope'],
    ['/sessionPools/', 'Unknown scope'],
    ['/sessionPools/demo/extra', 'Unknown scope'],
    ['/sessionPools/Demo', 'not a valid pool name'],
    ['/sessionPools/my-pool', 'not a valid pool name'],
    ['/sessionPools/ab', 'not a valid pool name'],
    ['/sessionPools/1pool', 'not a valid pool name'],
  ])('rejects %j with a readable message', (raw, message) => {
    const result = parseScope(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });

  it('"/" covers every pool; a pool scope covers only itself', () => {
    expect(scopeCovers('/', '/sessionPools/demo')).toBe(true);
    expect(scopeCovers('/sessionPools/demo', '/sessionPools/demo')).toBe(true);
    expect(scopeCovers('/sessionPools/demo', '/sessionPools/other')).toBe(false);
    expect(scopeCovers('/sessionPools/demo', '/')).toBe(false);
  });
});
