// Which token a client asked for. Real clients spell the data-plane resource several ways
// (reference §2): Azure's documented scope, the bare resource, and the older acasessions.io
// scope that LangChain JS and Semantic Kernel Python still default to. All of them get a token
// for the data plane, whose audience is https://dynamicsessions.io.

export const DATA_PLANE_AUDIENCE = 'https://dynamicsessions.io';
export const MANAGEMENT_AUDIENCE = 'https://management.azure.com';

export type TokenAudience = typeof DATA_PLANE_AUDIENCE | typeof MANAGEMENT_AUDIENCE;

const DATA_PLANE_RESOURCES = ['https://dynamicsessions.io', 'https://acasessions.io'];
const MANAGEMENT_RESOURCES = ['https://management.azure.com', 'https://management.core.windows.net'];

function resourceOf(scope: string): string {
  return scope
    .trim()
    .replace(/\/\.default$/i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
}

/**
 * Maps an OAuth2 `scope` (or a v1 `resource`) to the audience of the token to issue, or null
 * when Sandpool does not issue tokens for it. Several space-separated scopes are allowed as
 * long as they all name the same resource (MSAL adds `offline_access` and similar).
 */
export function audienceForScope(scope: string): TokenAudience | null {
  const resources = scope
    .split(/\s+/)
    .filter((part) => part !== '' && !['openid', 'profile', 'offline_access', 'email'].includes(part))
    .map(resourceOf);
  if (resources.length === 0) return null;
  if (resources.every((resource) => DATA_PLANE_RESOURCES.includes(resource))) return DATA_PLANE_AUDIENCE;
  if (resources.every((resource) => MANAGEMENT_RESOURCES.includes(resource))) return MANAGEMENT_AUDIENCE;
  return null;
}

export const SUPPORTED_SCOPES = [
  'https://dynamicsessions.io/.default',
  'https://acasessions.io/.default',
  'https://management.azure.com/.default',
];
