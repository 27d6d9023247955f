import { describe, expect, it } from 'vitest';
import { audienceForScope, DATA_PLANE_AUDIENCE, MANAGEMENT_AUDIENCE } from './audiences';

describe('audienceForScope', () => {
  it.each([
    'https://dynamicsessions.io/.default',
    'https://dynamicsessions.io',
    'https://dynamicsessions.io/',
    'https://acasessions.io/.default',
    'https://acasessions.io',
    'HTTPS://DynamicSessions.io/.default',
    'https://dynamicsessions.io/.default offline_access',
  ])('issues data-plane tokens for %j', (scope) => {
    expect(audienceForScope(scope)).toBe(DATA_PLANE_AUDIENCE);
  });

  it.each(['https://management.azure.com/.default', 'https://management.azure.com/', 'https://management.core.windows.net/'])(
    'issues management tokens for %j',
    (scope) => expect(audienceForScope(scope)).toBe(MANAGEMENT_AUDIENCE),
  );

  it.each(['', 'openid', 'https://graph.microsoft.com/.default', 'https://dynamicsessions.io.evil.com/.default', 'https://dynamicsessions.io/.default https://management.azure.com/.default'])(
    'refuses %j',
    (scope) => expect(audienceForScope(scope)).toBeNull(),
  );
});
