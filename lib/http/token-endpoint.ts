import 'server-only';
// OAuth2 client-credentials token endpoint (RFC 6749 §4.4), answering like Entra ID's
// /oauth2/v2.0/token so Azure SDKs and plain `curl` scripts work the same way.
import { recordAudit } from '../services/audit';
import { authenticateClient, ClientAuthenticationError } from '../services/service-principals';
import { issueAccessToken } from '../tokens/access-token';
import { audienceForScope, SUPPORTED_SCOPES } from '../tokens/audiences';

type OAuthError = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope';

function oauthError(status: number, error: OAuthError, description: string): Response {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (status === 401) headers['www-authenticate'] = 'Basic realm="sandpool"';
  return Response.json({ error, error_description: description }, { status, headers });
}

function basicCredentials(header: string | null): { clientId: string; clientSecret: string } | null {
  const match = header ? /^Basic\s+(\S+)$/i.exec(header) : null;
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return {
    clientId: decodeURIComponent(decoded.slice(0, colon)),
    clientSecret: decodeURIComponent(decoded.slice(colon + 1)),
  };
}

async function readForm(request: Request): Promise<URLSearchParams | null> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) return null;
  const text = await request.text();
  if (text.length > 16_384) return null;
  return new URLSearchParams(text);
}

export async function handleTokenRequest(request: Request): Promise<Response> {
  const form = await readForm(request);
  if (!form) {
    return oauthError(400, 'invalid_request', 'Send the request body as application/x-www-form-urlencoded with grant_type, client_id, client_secret and scope.');
  }
  const grantType = form.get('grant_type');
  if (!grantType) return oauthError(400, 'invalid_request', 'The request body must include grant_type=client_credentials.');
  if (grantType !== 'client_credentials') {
    return oauthError(400, 'unsupported_grant_type', `Grant type "${grantType}" is not supported. Sandpool issues tokens to service principals with grant_type=client_credentials.`);
  }
  const basic = basicCredentials(request.headers.get('authorization'));
  const clientId = basic?.clientId ?? form.get('client_id');
  const clientSecret = basic?.clientSecret ?? form.get('client_secret');
  if (!clientId) return oauthError(400, 'invalid_request', 'The request body must include client_id (the service principal\'s client id).');
  if (!clientSecret) return oauthError(401, 'invalid_client', 'The request body must include client_secret, or send the credentials with HTTP Basic authentication.');
  const scope = form.get('scope') ?? form.get('resource');
  if (!scope) return oauthError(400, 'invalid_request', `The request body must include scope, for example scope=${SUPPORTED_SCOPES[0]}.`);
  const audience = audienceForScope(scope);
  if (!audience) {
    return oauthError(400, 'invalid_scope', `The scope "${scope}" is not one Sandpool issues tokens for. Use one of: ${SUPPORTED_SCOPES.join(', ')}.`);
  }
  let client: { id: string; clientId: string };
  try {
    client = await authenticateClient(clientId, clientSecret);
  } catch (error) {
    if (error instanceof ClientAuthenticationError) return oauthError(401, 'invalid_client', error.message);
    throw error;
  }
  const token = await issueAccessToken(client, audience);
  await recordAudit(
    { kind: 'servicePrincipal', id: client.id, label: client.clientId, assignments: [] },
    { action: 'auth.token', target: { type: 'servicePrincipal', id: client.id, label: client.clientId }, outcome: 'SUCCESS', detail: { audience } },
  );
  return Response.json(
    { token_type: 'Bearer', expires_in: token.expiresIn, ext_expires_in: token.expiresIn, access_token: token.accessToken },
    { headers: { 'cache-control': 'no-store', pragma: 'no-cache' } },
  );
}
