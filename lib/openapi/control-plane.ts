// The portal's REST API for Azure tooling as an OpenAPI 3.1 document, served at
// GET /api/openapi/control-plane.json: `Microsoft.App/sessionPools` in ARM's shape (reference §6,
// app/subscriptions/[...path]/route.ts with lib/pools/arm.ts) and the OAuth2 token endpoint
// that issues the bearer tokens of both planes. Ranges come from the pool schema.
import { POOL_LIMITS } from '../validations/pool';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID } from '../pools/endpoint';
import { SUPPORTED_SCOPES } from '../tokens/audiences';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const param = (name: string) => ({ $ref: `#/components/parameters/${name}` });

function error(description: string) {
  return { description, headers: { 'x-ms-error-code': { description: 'The error code, as in the body.', schema: { type: 'string' } } }, content: json(ref('ErrorResponse')) };
}

const AUTH_ERRORS = {
  '401': error('No credentials, or a bearer token that is not a valid management token (code Unauthorized).'),
  '403': error('The caller lacks the permission (code Forbidden): every role may read, Contributor or Owner may write.'),
};
const security = [{ bearer: [] }, { portalSession: [] }];
const POOL_PATH = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App/sessionPools/{sessionPoolName}';
const tags = ['Session pools'];

const range = (limits: { min: number; max: number; default: number }, extra: object = {}) => ({ minimum: limits.min, maximum: limits.max, default: limits.default, ...extra });

const tokenOperation = (operationId: string) => ({
  post: {
    operationId,
    tags: ['Tokens'],
    summary: 'OAuth2 client credentials: an access token for a service principal.',
    security: [],
    requestBody: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          schema: {
            type: 'object',
            properties: {
              grant_type: { const: 'client_credentials' },
              client_id: { type: 'string' },
              client_secret: { type: 'string', description: 'Or both in an HTTP Basic Authorization header.' },
              scope: { type: 'string', description: `One of ${SUPPORTED_SCOPES.join(', ')} (the bare resource also works); \`resource\` is accepted instead.` },
              resource: { type: 'string' },
            },
            required: ['grant_type'],
          },
        },
      },
    },
    responses: {
      '200': {
        description: 'The token.',
        content: json({
          type: 'object',
          properties: { token_type: { const: 'Bearer' }, expires_in: { type: 'integer' }, ext_expires_in: { type: 'integer' }, access_token: { type: 'string' } },
          required: ['token_type', 'expires_in', 'access_token'],
        }),
      },
      '400': { description: 'invalid_request, unsupported_grant_type or invalid_scope.', content: json(ref('OAuthError')) },
      '401': { description: 'invalid_client: unknown client, wrong secret, revoked or expired.', content: json(ref('OAuthError')) },
    },
  },
});

export function controlPlaneOpenApi() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sandpool portal: Microsoft.App/sessionPools control plane',
      version: '2025-10-02-preview',
      description: `Session pools in Azure Resource Manager's shape, for the az CLI, ARM SDKs and curl. Sandpool has one implicit subscription and resource group: any values are accepted in those segments (and echoed in \`id\`); pools are listed by Sandpool as ${DEFAULT_SUBSCRIPTION_ID}/${DEFAULT_RESOURCE_GROUP}. Path segments match in any case. Any api-version, or none, is accepted: before 2025-01-01 the cooldown is dynamicPoolConfiguration.executionType/cooldownPeriodInSeconds, later lifecycleConfiguration; both are accepted on input.`,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [{ name: 'Session pools' }, { name: 'Tokens' }],
    paths: {
      '/subscriptions/{subscriptionId}/providers/Microsoft.App/sessionPools': {
        get: {
          operationId: 'SessionPools_ListBySubscription',
          tags,
          summary: 'The pools the caller may read.',
          security,
          parameters: [param('subscriptionId'), param('apiVersion')],
          responses: { '200': { description: 'The pools.', content: json(ref('SessionPoolList')) }, ...AUTH_ERRORS },
        },
      },
      '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App/sessionPools': {
        get: {
          operationId: 'SessionPools_ListByResourceGroup',
          tags,
          summary: 'The pools the caller may read (all pools are in the one resource group).',
          security,
          parameters: [param('subscriptionId'), param('resourceGroupName'), param('apiVersion')],
          responses: { '200': { description: 'The pools.', content: json(ref('SessionPoolList')) }, ...AUTH_ERRORS },
        },
      },
      [POOL_PATH]: {
        get: {
          operationId: 'SessionPools_Get',
          tags,
          security,
          parameters: [param('subscriptionId'), param('resourceGroupName'), param('sessionPoolName'), param('apiVersion')],
          responses: { '200': { description: 'The pool.', content: json(ref('SessionPool')) }, ...AUTH_ERRORS, '404': error('No such pool (code NotFound).') },
        },
        put: {
          operationId: 'SessionPools_CreateOrUpdate',
          tags,
          summary: "Create (201) or replace (200) a pool. Settings left out get their defaults, except Sandpool's own (sandpoolConfiguration), which keep their values.",
          security,
          parameters: [param('subscriptionId'), param('resourceGroupName'), param('sessionPoolName'), param('apiVersion')],
          requestBody: { required: true, content: json(ref('SessionPoolInput')) },
          responses: {
            '200': { description: 'Replaced.', content: json(ref('SessionPool')) },
            '201': { description: 'Created; the engine starts its ready sessions.', headers: { 'Azure-AsyncOperation': { description: 'An operation to poll (Succeeded at once).', schema: { type: 'string', format: 'uri' } } }, content: json(ref('SessionPool')) },
            '400': error('BadRequest, with details[] naming each ARM property path and what to send instead (ranges, unknown properties, what Sandpool cannot honour yet).'),
            ...AUTH_ERRORS,
            '409': error('Conflict: the pool is being deleted.'),
          },
        },
        patch: {
          operationId: 'SessionPools_Update',
          tags,
          summary: 'Change the settings given (JSON merge patch: null resets a setting to its default).',
          security,
          parameters: [param('subscriptionId'), param('resourceGroupName'), param('sessionPoolName'), param('apiVersion')],
          requestBody: { required: true, content: json(ref('SessionPoolInput')) },
          responses: {
            '200': { description: 'Changed.', content: json(ref('SessionPool')) },
            '400': error('BadRequest, with details[] naming each ARM property path.'),
            ...AUTH_ERRORS,
            '404': error('No such pool (code NotFound).'),
            '409': error('Conflict: the pool is being deleted.'),
          },
        },
        delete: {
          operationId: 'SessionPools_Delete',
          tags,
          summary: 'Delete a pool: its sessions are drained first.',
          security,
          parameters: [param('subscriptionId'), param('resourceGroupName'), param('sessionPoolName'), param('apiVersion')],
          responses: {
            '202': { description: 'Deleting; poll Location until 204.', headers: { Location: { schema: { type: 'string', format: 'uri' } }, 'Retry-After': { schema: { type: 'string' } } } },
            '204': { description: 'There is no such pool.' },
            ...AUTH_ERRORS,
          },
        },
      },
      '/subscriptions/{subscriptionId}/providers/Microsoft.App/locations/{location}/sessionPoolOperationStatuses/{operationId}': {
        get: {
          operationId: 'SessionPoolOperationStatuses_Get',
          tags,
          summary: "A create or replace operation's status (the Azure-AsyncOperation URL).",
          security,
          parameters: [param('subscriptionId'), param('location'), param('operationId'), param('apiVersion')],
          responses: {
            '200': { description: 'Succeeded.', content: json({ type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, status: { const: 'Succeeded' } }, required: ['id', 'name', 'status'] }) },
            ...AUTH_ERRORS,
            '404': error('The pool no longer exists (code NotFound).'),
          },
        },
      },
      '/subscriptions/{subscriptionId}/providers/Microsoft.App/locations/{location}/sessionPoolOperationResults/{operationId}': {
        get: {
          operationId: 'SessionPoolOperationResults_Get',
          tags,
          summary: "A deletion's progress (the Location URL).",
          security,
          parameters: [param('subscriptionId'), param('location'), param('operationId'), param('apiVersion')],
          responses: {
            '202': { description: 'Still draining.', headers: { Location: { schema: { type: 'string', format: 'uri' } }, 'Retry-After': { schema: { type: 'string' } } } },
            '204': { description: 'Deleted.' },
            ...AUTH_ERRORS,
          },
        },
      },
      '/oauth2/v2.0/token': tokenOperation('Token_Issue'),
      '/{tenant}/oauth2/v2.0/token': { parameters: [param('tenant')], ...tokenOperation('Token_IssueForTenant') },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A management token: POST /oauth2/v2.0/token with scope https://management.azure.com/.default. Data-plane tokens are refused here.',
        },
        portalSession: { type: 'apiKey', in: 'cookie', name: 'authjs.session-token', description: "A signed-in browser's session cookie (__Secure-authjs.session-token over https)." },
      },
      parameters: {
        subscriptionId: { name: 'subscriptionId', in: 'path', required: true, description: 'Any value.', schema: { type: 'string' } },
        resourceGroupName: { name: 'resourceGroupName', in: 'path', required: true, description: 'Any value.', schema: { type: 'string' } },
        sessionPoolName: { name: 'sessionPoolName', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z][a-z0-9]*$', minLength: 3, maxLength: 63 } },
        location: { name: 'location', in: 'path', required: true, schema: { type: 'string' } },
        operationId: { name: 'operationId', in: 'path', required: true, schema: { type: 'string' } },
        tenant: { name: 'tenant', in: 'path', required: true, description: 'Any value: Sandpool has one tenant.', schema: { type: 'string' } },
        apiVersion: { name: 'api-version', in: 'query', required: false, description: 'Any value, or none; chooses the cooldown shape of responses.', schema: { type: 'string' } },
      },
      schemas: {
        ErrorResponse: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                details: { type: 'array', items: { type: 'object', properties: { target: { type: 'string' }, message: { type: 'string' } }, required: ['target', 'message'] } },
              },
              required: ['code', 'message'],
            },
          },
          required: ['error'],
        },
        OAuthError: { type: 'object', properties: { error: { type: 'string' }, error_description: { type: 'string' } }, required: ['error', 'error_description'] },
        SessionPoolList: { type: 'object', properties: { value: { type: 'array', items: ref('SessionPool') } }, required: ['value'] },
        SessionPool: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            type: { const: 'Microsoft.App/sessionPools' },
            location: { const: 'local' },
            tags: { type: 'object', maxProperties: 0 },
            systemData: { type: 'object', properties: { createdAt: { type: 'string', format: 'date-time' }, lastModifiedAt: { type: 'string', format: 'date-time' } }, required: ['createdAt', 'lastModifiedAt'] },
            properties: {
              type: 'object',
              properties: {
                containerType: { const: 'PythonLTS' },
                poolManagementType: { const: 'Dynamic' },
                scaleConfiguration: ref('ScaleConfiguration'),
                dynamicPoolConfiguration: {
                  description: 'lifecycleConfiguration from api-version 2025-01-01 (or none), executionType and cooldownPeriodInSeconds before.',
                  oneOf: [
                    { type: 'object', properties: { lifecycleConfiguration: { type: 'object', properties: { lifecycleType: { const: 'Timed' }, cooldownPeriodInSeconds: { type: 'integer' } }, required: ['lifecycleType', 'cooldownPeriodInSeconds'] } }, required: ['lifecycleConfiguration'] },
                    { type: 'object', properties: { executionType: { const: 'Timed' }, cooldownPeriodInSeconds: { type: 'integer' } }, required: ['executionType', 'cooldownPeriodInSeconds'] },
                  ],
                },
                sessionNetworkConfiguration: { type: 'object', properties: { status: { const: 'EgressDisabled' } }, required: ['status'] },
                sandpoolConfiguration: ref('SandpoolConfiguration'),
                poolManagementEndpoint: { type: 'string', format: 'uri', description: 'The data plane of this pool, on the engine.' },
                provisioningState: { type: 'string', description: 'Succeeded, or Deleting while its sessions are drained.' },
              },
              required: ['containerType', 'poolManagementType', 'scaleConfiguration', 'dynamicPoolConfiguration', 'sessionNetworkConfiguration', 'sandpoolConfiguration', 'poolManagementEndpoint', 'provisioningState'],
            },
          },
          required: ['id', 'name', 'type', 'location', 'tags', 'systemData', 'properties'],
        },
        ScaleConfiguration: {
          type: 'object',
          properties: {
            maxConcurrentSessions: { type: 'integer', ...range(POOL_LIMITS.maxConcurrentSessions) },
            readySessionInstances: { type: 'integer', ...range(POOL_LIMITS.readySessionInstances, { description: 'At most maxConcurrentSessions.' }) },
          },
        },
        SandpoolConfiguration: {
          type: 'object',
          description: "Sandpool's own settings (not in Azure's schema).",
          properties: {
            isolation: { enum: ['gVisor', 'runc'], default: 'gVisor' },
            cpu: { type: 'number', ...range(POOL_LIMITS.cpu, { multipleOf: 0.25 }) },
            memory: { type: ['string', 'number'], description: `GiB, "1Gi" or 1: from ${POOL_LIMITS.memoryGi.min} to ${POOL_LIMITS.memoryGi.max} in steps of 0.25 (default ${POOL_LIMITS.memoryGi.default}Gi).` },
          },
        },
        SessionPoolInput: {
          type: 'object',
          description:
            'Property names match in any case; unknown properties are refused with a 400 naming them. Read-only properties sent back (id, name, type, systemData, provisioningState, poolManagementEndpoint, nodeCount, templateUpdateStatus) are ignored.',
          properties: {
            location: { type: 'string', description: 'Any value; Sandpool has no regions.' },
            tags: { description: 'Not supported yet: empty or null only.' },
            identity: { description: 'Not supported yet: absent, null or {"type": "None"}.' },
            properties: {
              type: 'object',
              properties: {
                containerType: { type: 'string', description: 'PythonLTS (any case); NodeLTS, Shell and CustomContainer are refused as planned.' },
                poolManagementType: { type: 'string', description: 'Dynamic.' },
                environmentId: { description: 'Not supported: null or empty only.' },
                scaleConfiguration: ref('ScaleConfiguration'),
                dynamicPoolConfiguration: {
                  type: 'object',
                  properties: {
                    lifecycleConfiguration: {
                      type: 'object',
                      properties: {
                        lifecycleType: { type: 'string', description: 'Timed.' },
                        cooldownPeriodInSeconds: { type: 'integer', ...range(POOL_LIMITS.cooldownPeriodInSeconds, { description: "Azure's minimum is 300; Sandpool allows 10 for development." }) },
                        maxAlivePeriodInSeconds: { description: 'Not supported yet (OnContainerExit): null only.' },
                      },
                    },
                    executionType: { type: 'string', description: 'Timed (api-versions before 2025-01-01).' },
                    cooldownPeriodInSeconds: { type: 'integer', ...range(POOL_LIMITS.cooldownPeriodInSeconds, { description: 'Before 2025-01-01; must agree with lifecycleConfiguration when both are given.' }) },
                  },
                },
                sessionNetworkConfiguration: { type: 'object', properties: { status: { type: 'string', description: 'EgressDisabled (EgressEnabled is not supported yet).' } } },
                sandpoolConfiguration: ref('SandpoolConfiguration'),
                customContainerTemplate: { description: 'Not supported yet: null or empty only.' },
                secrets: { description: 'Not supported yet: null or empty only.' },
                managedIdentitySettings: { description: 'Not supported yet: null or empty only.' },
                mcpServerSettings: { description: 'Not supported yet: isMcpServerEnabled must not be true.' },
              },
            },
          },
        },
      },
    },
  };
}
