// The engine's HTTP API as an OpenAPI 3.1 document, served at GET /openapi.json: the data plane
// under each pool's management endpoint (reference §4), the pool's event stream and the health
// check. Limits come from the modules that enforce them; data-plane.test.ts checks that the
// document's operations are exactly the routes the engine registers.
import type { FastifyInstance } from 'fastify';
import { POOL_PATH } from '../dataplane/context';
import { MAX_UPLOAD_BYTES } from '../dataplane/files';
import { DEFAULT_OUTPUT_STREAMS_MAX_LENGTH, DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from '../dataplane/requests';
import { SESSION_PAGE_SIZE } from '../dataplane/sessions';

/** Fastify's `:param` path as an OpenAPI template. */
const POOL = POOL_PATH.replace(/:(\w+)/g, '{$1}');

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const param = (name: string) => ({ $ref: `#/components/parameters/${name}` });

/** An error answer in Azure's shape, naming the codes this operation can give. */
function error(description: string) {
  return { description, headers: { 'x-ms-error-code': { $ref: '#/components/headers/ErrorCode' } }, content: json(ref('ErrorResponse')) };
}

/** What every data-plane route can refuse, besides its own errors. */
const REFUSALS = {
  '401': error('No token, or one that is malformed, altered, expired, for another audience or for the management plane (code Unauthorized, with WWW-Authenticate: Bearer).'),
  '403': error('The caller lacks Session Executor (or Owner) on the pool (code Forbidden).'),
  '404': error('There is no such pool (code NotFound), checked after the role.'),
  '503': error(
    'ServiceUnavailable (the database is away; Retry-After), SessionPoolNotReady (no sandbox became ready within 60 s), SessionSandboxFailed (the sandbox stopped answering and was removed) or EngineStopping.',
  ),
};
/** What a route that takes an identifier (and may allocate a session) adds. */
const SESSION_REFUSALS = {
  '400': error('SessionRequestValidationFailed: the identifier is missing or invalid (checked before anything is allocated), or another parameter is invalid.'),
  ...REFUSALS,
  '429': error('SessionPoolCapacityReached: the identifier is new and the pool already has maxConcurrentSessions sessions.'),
};

const POOL_PARAMETERS = [param('subscriptionId'), param('resourceGroupName'), param('poolName'), param('apiVersion')];
const SESSION_PARAMETERS = [...POOL_PARAMETERS, param('identifier')];
const security = [{ bearer: [] }];
const tags = (name: string) => [name];

const sessionGuid = { 'x-ms-session-guid': { description: "The session's sandbox (container) id.", schema: { type: 'string' } } };

const legacyExecute = (path: string) => ({
  post: {
    operationId: path === 'code/execute' ? 'LegacyCode_Execute' : `LegacyCode_Execute_${path.replace('/', '_')}`,
    tags: tags('Legacy contract'),
    summary: path === 'code/execute' ? 'Run Python code in the identifier\'s session (legacy contract, reference §4.2.1).' : `Alias of code/execute.`,
    description:
      'Synchronous only. The body may be wrapped in `properties` or flat; `code` or `pythonCode`; enums in any case; `InlineBase64` code is decoded; unknown fields are ignored. Failing code is HTTP 200 with status Failure and the traceback in stderr.',
    security,
    parameters: SESSION_PARAMETERS,
    requestBody: { required: true, content: json(ref('ExecuteRequest')) },
    responses: {
      '200': { description: 'The execution ran (Success or Failure).', headers: sessionGuid, content: json(ref('LegacyExecuteResponse')) },
      ...SESSION_REFUSALS,
      '400': error('SessionPropertiesMissing (no code), SessionRequestValidationFailed (identifier, codeInputType, executionType, timeoutInSeconds, base64) or SessionRequestNotSupported (asynchronous, or a Shell command).'),
    },
  },
});

const fileNameParameter = { name: 'name', in: 'path', required: true, description: 'A file name, relative to `path` (or an absolute `/mnt/data/…` path).', schema: { type: 'string' } };
const FILE_ERRORS = {
  '400': error('InvalidFilePath (`..`, an absolute path outside /mnt/data, control characters, too long), NotAFile, NotADirectory, SymbolicLinkNotFollowed, or SessionRequestValidationFailed.'),
  '404': error('FileNotFound, or no such pool (NotFound).'),
  '409': error('DirectoryNotEmpty or FilePermissionDenied.'),
};
const UPLOAD_ERRORS = {
  '413': error(`RequestEntityTooLarge: the files of one request exceed ${MAX_UPLOAD_BYTES / (1024 * 1024)} MiB (refused by Content-Length before reading, or while streaming).`),
  '415': error('UnsupportedMediaType: the body is not multipart/form-data.'),
  '507': error("SessionStorageFull: the session's /mnt/data is full."),
};
const multipartBody = {
  required: true,
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        properties: { file: { type: 'string', contentMediaType: 'application/octet-stream', description: 'The file; its filename (a name, a relative path or `/mnt/data/<name>`) says where it goes.' } },
        required: ['file'],
      },
    },
  },
};
const SESSION_NOT_FOUND = error('SessionWithIdentifierNotFound, or SessionRequestValidationFailed.');
const legacyUpload = {
  operationId: 'LegacyFiles_Upload',
  tags: tags('Legacy contract'),
  summary: "Upload files into the session's /mnt/data (legacy contract): every multipart part with a filename.",
  security,
  parameters: [...SESSION_PARAMETERS, param('directory')],
  requestBody: multipartBody,
  responses: { '200': { description: 'The stored files.', content: json(ref('LegacyFileCollection')) }, ...SESSION_REFUSALS, ...FILE_ERRORS, ...UPLOAD_ERRORS },
};
const getSession = {
  operationId: 'SessionManagement_Get',
  tags: tags('Sessions'),
  summary: "The identifier's session (never allocates one); restarts its cooldown.",
  security,
  parameters: SESSION_PARAMETERS,
  responses: { '200': { description: 'The session.', content: json(ref('Session')) }, ...SESSION_REFUSALS, '400': SESSION_NOT_FOUND },
};
const listSessions = {
  operationId: 'ListSessions_Get',
  tags: tags('Sessions'),
  summary: `The pool's sessions, ${SESSION_PAGE_SIZE} a page.`,
  security,
  parameters: [...POOL_PARAMETERS, param('skip')],
  responses: { '200': { description: 'One page.', content: json(ref('SessionList')) }, '400': error('SessionRequestValidationFailed (skip).'), ...REFUSALS },
};
const legacyVersions = 'With api-version 2024-02-02-preview or 2024-08-02-preview the legacy shape, otherwise the new one.';

export function dataPlaneOpenApi() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sandpool engine: Azure dynamic sessions data plane',
      version: '2025-10-02-preview',
      description:
        "The data plane of Azure Container Apps dynamic sessions (code interpreter, PythonLTS), served under each pool's poolManagementEndpoint. Both contracts are served: the legacy one (api-version 2024-02-02-preview) and the new one (2024-10-02-preview and later). Any api-version, or none, is accepted; paths may contain `//` and end with `/`; path segments of the subscription and resource group may be any values.",
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [{ name: 'Legacy contract' }, { name: 'Executions' }, { name: 'Files' }, { name: 'Sessions' }, { name: 'Pool' }, { name: 'Engine' }],
    paths: {
      '/healthz': {
        get: {
          operationId: 'Engine_Health',
          tags: tags('Engine'),
          summary: "The engine's health and its dependencies' (Postgres, containerd).",
          security: [],
          responses: {
            '200': { description: 'Every check passed.', content: json(ref('HealthReport')) },
            '503': { description: 'A check failed or timed out.', content: json(ref('HealthReport')) },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'Engine_OpenApi',
          tags: tags('Engine'),
          summary: 'This document.',
          security: [],
          responses: { '200': { description: 'The OpenAPI document.', content: json({ type: 'object' }) } },
        },
      },
      [`${POOL}/code/execute`]: legacyExecute('code/execute'),
      [`${POOL}/execute`]: legacyExecute('execute'),
      [`${POOL}/python/execute`]: legacyExecute('python/execute'),
      [`${POOL}/executions`]: {
        post: {
          operationId: 'CodeExecution_Execute',
          tags: tags('Executions'),
          summary: 'Run code synchronously (200) or asynchronously (202, then poll Operation-Location).',
          description: 'The body may be flat or wrapped in `properties`, as on code/execute. Failing code is a Failed execution (HTTP 200), not an HTTP error.',
          security,
          parameters: [...SESSION_PARAMETERS, { name: 'operation-id', in: 'header', required: false, description: 'The execution id to use (1–128 letters, digits and . _ : -); generated when absent.', schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' } }],
          requestBody: { required: true, content: json(ref('ExecuteRequest')) },
          responses: {
            '200': { description: 'A synchronous execution, ended.', headers: { ...operationHeaders(), ...sessionGuid }, content: json(ref('SessionCodeExecutionResource')) },
            '202': { description: 'An asynchronous execution, Running.', headers: { ...operationHeaders(), ...sessionGuid }, content: json(ref('SessionCodeExecutionResource')) },
            ...SESSION_REFUSALS,
          },
        },
      },
      [`${POOL}/executions/{executionId}`]: {
        get: {
          operationId: 'CodeExecution_Get',
          tags: tags('Executions'),
          summary: 'An execution of this identifier, Running or ended.',
          security,
          parameters: [...SESSION_PARAMETERS, { name: 'executionId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'The execution.', headers: { 'operation-id': { schema: { type: 'string' } } }, content: json(ref('SessionCodeExecutionResource')) },
            ...SESSION_REFUSALS,
            '404': error('ExecutionNotFound (no such execution for this identifier in this pool), or no such pool (NotFound).'),
          },
        },
      },
      [`${POOL}/files/upload`]: { post: legacyUpload },
      [`${POOL}/python/uploadFile`]: { post: { ...legacyUpload, operationId: 'LegacyFiles_Upload_python_uploadFile', summary: 'Alias of files/upload.' } },
      [`${POOL}/files/content/{name}`]: {
        get: {
          operationId: 'LegacyFiles_GetContent',
          tags: tags('Legacy contract'),
          summary: "A file's bytes (legacy contract). `name` may contain `/` (a file below `path`).",
          security,
          parameters: [...SESSION_PARAMETERS, param('directory'), fileNameParameter],
          responses: { '200': fileContent(), ...SESSION_REFUSALS, ...FILE_ERRORS },
        },
      },
      [`${POOL}/files`]: {
        get: {
          operationId: 'SessionResourceFiles_List',
          tags: tags('Files'),
          summary: `The files in \`path\`. ${legacyVersions} The legacy shape lists every file below \`path\` by its relative path.`,
          security,
          parameters: [...SESSION_PARAMETERS, param('directory'), { name: 'recursive', in: 'query', required: false, description: 'New shape only: include everything below `path`.', schema: { type: 'string', enum: ['true', 'false', '1', '0'] } }],
          responses: { '200': { description: 'The files.', content: json({ anyOf: [ref('PagedSessionResourceFile'), ref('LegacyFileCollection')] }) }, ...SESSION_REFUSALS, ...FILE_ERRORS },
        },
        post: {
          operationId: 'SessionResourceFiles_Upload',
          tags: tags('Files'),
          summary: 'Upload one file into `path`.',
          security,
          parameters: [...SESSION_PARAMETERS, param('directory')],
          requestBody: multipartBody,
          responses: { '200': { description: 'The stored file.', content: json(ref('SessionResourceFile')) }, ...SESSION_REFUSALS, ...FILE_ERRORS, ...UPLOAD_ERRORS },
        },
      },
      [`${POOL}/files/{name}`]: {
        get: {
          operationId: 'SessionResourceFiles_Get',
          tags: tags('Files'),
          summary: `A file's metadata. ${legacyVersions}`,
          security,
          parameters: [...SESSION_PARAMETERS, param('directory'), fileNameParameter],
          responses: { '200': { description: 'The file.', content: json({ anyOf: [ref('SessionResourceFile'), ref('LegacyFileCollection')] }) }, ...SESSION_REFUSALS, ...FILE_ERRORS },
        },
        delete: {
          operationId: 'SessionResourceFiles_Delete',
          tags: tags('Files'),
          summary: 'Delete a file (or an empty directory).',
          security,
          parameters: [...SESSION_PARAMETERS, param('directory'), fileNameParameter],
          responses: {
            '200': { description: 'Legacy api-versions (2024-02-02-preview, 2024-08-02-preview).', content: json({ type: 'object', properties: { message: { const: 'file deleted successfully' } }, required: ['message'] }) },
            '204': { description: 'Deleted.' },
            ...SESSION_REFUSALS,
            ...FILE_ERRORS,
          },
        },
      },
      [`${POOL}/files/{name}/content`]: {
        get: {
          operationId: 'SessionResourceFiles_GetContent',
          tags: tags('Files'),
          summary: "A file's bytes.",
          security,
          parameters: [...SESSION_PARAMETERS, param('directory'), fileNameParameter],
          responses: { '200': fileContent(), ...SESSION_REFUSALS, ...FILE_ERRORS },
        },
      },
      [`${POOL}/session`]: {
        get: getSession,
        delete: {
          operationId: 'SessionManagement_Delete',
          tags: tags('Sessions'),
          summary: 'Delete the session and its sandbox; the identifier\'s next request gets a fresh, empty session.',
          security,
          parameters: SESSION_PARAMETERS,
          responses: { '204': { description: 'Deleted.' }, ...SESSION_REFUSALS, '400': SESSION_NOT_FOUND },
        },
      },
      [`${POOL}/listSessions`]: {
        get: listSessions,
      },
      [`${POOL}/.management/getSession`]: {
        post: { ...getSession, operationId: 'SessionPoolManagement_GetSession', summary: 'As GET session. Any body is ignored.' },
      },
      [`${POOL}/.management/listSessions`]: {
        post: { ...listSessions, operationId: 'SessionPoolManagement_ListSessions', summary: 'As GET listSessions. Any body is ignored.' },
      },
      [`${POOL}/.management/stopSession`]: {
        post: {
          operationId: 'SessionPoolManagement_StopSession',
          tags: tags('Sessions'),
          summary: 'As DELETE session, answering in text. Any body is ignored.',
          security,
          parameters: SESSION_PARAMETERS,
          responses: {
            '200': { description: 'Stopped.', content: { 'text/plain': { schema: { type: 'string', examples: ['Session my-session in session pool demo stopped.'] } } } },
            ...SESSION_REFUSALS,
            '400': SESSION_NOT_FOUND,
          },
        },
      },
      [`${POOL}/metadata`]: {
        get: {
          operationId: 'SessionPoolMetadata_Get',
          tags: tags('Pool'),
          summary: "The sessions' runtime as the code-interpreter image really has it: Python's version and every installed package.",
          security,
          parameters: POOL_PARAMETERS,
          responses: { '200': { description: 'The runtime.', content: json(ref('Metadata')) }, ...REFUSALS, '503': error('MetadataUnavailable, or the refusals every route shares.') },
        },
      },
      [`${POOL}/.sandpool/events`]: {
        get: {
          operationId: 'Sandpool_PoolEvents',
          tags: tags('Pool'),
          summary: "Sandpool's own: the pool's session lifecycle as server-sent events, history after Last-Event-ID first.",
          description:
            'Takes a management token (scope https://management.azure.com/.default) of a caller who may read the pool (Reader or higher). A replay after Last-Event-ID also repeats the events of the 5 seconds before it (a transition can commit after one with a higher id); clients skip ids they have seen.',
          security,
          parameters: [
            param('subscriptionId'),
            param('resourceGroupName'),
            param('poolName'),
            { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^\\d{1,19}$' } },
            { name: 'lastEventId', in: 'query', required: false, description: 'As Last-Event-ID, for clients that cannot set headers.', schema: { type: 'string' } },
          ],
          responses: {
            '200': { description: '`event: session` messages whose `data` is a SessionEvent (components/schemas), and comments as heartbeats.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            '401': error('No valid management token (code Unauthorized).'),
            '403': error('The caller may not read the pool (code Forbidden).'),
            '404': error('There is no such pool (code NotFound).'),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "An access token from Sandpool's token endpoint (POST /oauth2/v2.0/token on the portal, client credentials), requested with scope https://dynamicsessions.io/.default (also https://acasessions.io/.default or the bare resource). The caller needs Session Executor or Owner on the pool or on \"/\".",
        },
      },
      headers: { ErrorCode: { description: 'The error code, as in the body.', schema: { type: 'string' } } },
      parameters: {
        subscriptionId: { name: 'subscriptionId', in: 'path', required: true, description: 'Any value: Sandpool has one implicit subscription.', schema: { type: 'string' } },
        resourceGroupName: { name: 'resourceGroupName', in: 'path', required: true, description: 'Any value: Sandpool has one implicit resource group.', schema: { type: 'string' } },
        poolName: { name: 'poolName', in: 'path', required: true, schema: { type: 'string' } },
        apiVersion: { name: 'api-version', in: 'query', required: false, description: 'Any value, or none. On the files routes it chooses the legacy or the new response shape.', schema: { type: 'string' } },
        identifier: {
          name: 'identifier',
          in: 'query',
          required: true,
          description: "The session's identifier, URL-encoded or not: 4–128 characters (Azure's SessionIdentifier pattern).",
          schema: { type: 'string', pattern: IDENTIFIER_PATTERN_SOURCE },
        },
        directory: { name: 'path', in: 'query', required: false, description: 'A directory relative to /mnt/data (or under it, absolute); default /mnt/data.', schema: { type: 'string' } },
        skip: { name: 'skip', in: 'query', required: false, schema: { type: 'string', pattern: '^\\d*$' } },
      },
      schemas: {
        ErrorResponse: {
          type: 'object',
          properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
          required: ['error'],
        },
        ExecuteFields: {
          type: 'object',
          description: 'Unknown fields (identifier, timeout, enableEgress, language, sanitizeInput, …) are ignored.',
          properties: {
            code: { type: 'string', description: 'The Python source (required unless pythonCode is given).' },
            pythonCode: { type: 'string', description: 'Alias of code.' },
            codeInputType: { type: 'string', description: 'Inline (default), InlineText or InlineBase64, in any case.' },
            executionType: { type: 'string', description: 'Synchronous (default) or Asynchronous (executions only), in any case.' },
            timeoutInSeconds: { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_SECONDS, default: DEFAULT_TIMEOUT_SECONDS },
            timeout: { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_SECONDS, description: 'Alias of timeoutInSeconds.' },
            outputStreamsMaxLength: { type: 'integer', minimum: 0, default: DEFAULT_OUTPUT_STREAMS_MAX_LENGTH, description: 'executions only: stdout and stderr are each cut to this many characters.' },
            returnJupyterFormatExecutionResult: { type: 'boolean', default: false, description: 'executions only: numbers and booleans as JSON text, no value as null.' },
          },
        },
        ExecuteRequest: {
          description: 'The fields flat, or wrapped in `properties`.',
          oneOf: [
            { type: 'object', properties: { properties: ref('ExecuteFields') }, required: ['properties'] },
            { allOf: [ref('ExecuteFields')], not: { required: ['properties'] } },
          ],
        },
        ExecutionValue: {
          description: "The cell's last expression as JSON (or IPython's text repr), \"\" when it ended with a statement, or a PNG figure as {type, format, base64_data}.",
          oneOf: [
            { type: 'object', properties: { type: { const: 'image' }, format: { const: 'png' }, base64_data: { type: 'string', contentEncoding: 'base64' } }, required: ['type', 'format', 'base64_data'] },
            { type: ['string', 'number', 'boolean', 'null', 'array'] },
            { type: 'object', not: { required: ['base64_data'] } },
          ],
        },
        LegacyExecuteResponse: {
          type: 'object',
          properties: {
            $id: { type: 'string' },
            properties: {
              type: 'object',
              properties: {
                $id: { type: 'string' },
                status: { enum: ['Success', 'Failure'] },
                stdout: { type: 'string' },
                stderr: { type: 'string' },
                result: ref('ExecutionValue'),
                executionResult: ref('ExecutionValue'),
                executionTimeInMilliseconds: { type: 'integer' },
              },
              required: ['status', 'stdout', 'stderr', 'result', 'executionResult', 'executionTimeInMilliseconds'],
            },
          },
          required: ['properties'],
        },
        SessionCodeExecutionResource: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            identifier: { type: 'string' },
            executionType: { enum: ['Synchronous', 'Asynchronous'] },
            status: { enum: ['Running', 'Succeeded', 'Failed'] },
            result: {
              type: 'object',
              description: 'Present once the execution has ended.',
              properties: { stdout: { type: 'string' }, stderr: { type: 'string' }, executionResult: ref('ExecutionValue'), executionTimeInMilliseconds: { type: 'integer' } },
              required: ['stdout', 'stderr', 'executionResult', 'executionTimeInMilliseconds'],
            },
            error: { type: 'object', description: 'Why a Failed execution failed (ExecutionTimeout, the Python exception name, …).', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] },
          },
          required: ['id', 'identifier', 'executionType', 'status'],
        },
        LegacyFileCollection: {
          type: 'object',
          properties: {
            $id: { type: 'string' },
            value: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  $id: { type: 'string' },
                  properties: {
                    type: 'object',
                    properties: {
                      $id: { type: 'string' },
                      filename: { type: 'string', description: 'Relative to /mnt/data.' },
                      size: { type: 'integer' },
                      lastModifiedTime: { type: 'string', format: 'date-time' },
                      last_modified_time: { type: 'string', format: 'date-time' },
                    },
                    required: ['filename', 'size', 'lastModifiedTime', 'last_modified_time'],
                  },
                },
                required: ['properties'],
              },
            },
          },
          required: ['value'],
        },
        SessionResourceFile: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            type: { enum: ['File', 'Directory'] },
            contentType: { type: 'string' },
            sizeInBytes: { type: 'integer' },
            lastModifiedAt: { type: 'string', format: 'date-time' },
            directory: { type: 'string', description: "The parent directory relative to the request's path; \"\" for the path itself." },
          },
          required: ['name', 'type', 'contentType', 'sizeInBytes', 'lastModifiedAt', 'directory'],
        },
        PagedSessionResourceFile: { type: 'object', properties: { value: { type: 'array', items: ref('SessionResourceFile') }, nextLink: { type: 'null' } }, required: ['value', 'nextLink'] },
        Session: {
          type: 'object',
          description: 'Both spellings of the expiry: expireAt (Session) and expiresAt (SessionView).',
          properties: {
            identifier: { type: 'string' },
            etag: { type: 'string', description: "The sandbox's container id." },
            expireAt: { type: 'string', format: 'date-time' },
            expiresAt: { type: 'string', format: 'date-time' },
            createdAt: { type: 'string', format: 'date-time' },
            lastAccessedAt: { type: 'string', format: 'date-time' },
          },
          required: ['identifier', 'etag', 'expireAt', 'expiresAt', 'createdAt', 'lastAccessedAt'],
        },
        SessionList: {
          type: 'object',
          description: 'Both list shapes: sessions (ListSessions) and value with count (.management).',
          properties: { sessions: { type: 'array', items: ref('Session') }, value: { type: 'array', items: ref('Session') }, count: { type: 'integer' }, nextLink: { type: ['string', 'null'], format: 'uri' } },
          required: ['sessions', 'value', 'count', 'nextLink'],
        },
        Metadata: {
          type: 'object',
          properties: {
            runtimes: { type: 'array', items: ref('NameVersion') },
            preInstalledPackages: { type: 'array', items: ref('NameVersion') },
            createdAt: { type: ['string', 'null'], format: 'date-time' },
            lastUpdatedAt: { type: ['string', 'null'], format: 'date-time' },
            jupyterKernel: {
              type: 'object',
              properties: { name: { type: 'string' }, version: { type: ['string', 'null'] }, projectUrl: { type: 'string', format: 'uri' }, description: { type: 'string' } },
              required: ['name', 'version', 'projectUrl', 'description'],
            },
          },
          required: ['runtimes', 'preInstalledPackages', 'createdAt', 'lastUpdatedAt', 'jupyterKernel'],
        },
        NameVersion: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } }, required: ['name', 'version'] },
        SessionEvent: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            sessionId: { type: 'string' },
            poolId: { type: 'string' },
            from: { type: ['string', 'null'] },
            to: { enum: ['PENDING', 'READY', 'ALLOCATED', 'DELETING', 'DELETED', 'FAILED'] },
            reason: { type: 'string' },
            at: { type: 'string', format: 'date-time' },
          },
          required: ['id', 'sessionId', 'poolId', 'from', 'to', 'reason', 'at'],
        },
        HealthReport: {
          type: 'object',
          properties: {
            status: { enum: ['ok', 'degraded'] },
            version: { type: 'string' },
            checks: {
              type: 'object',
              additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, latencyMs: { type: 'number' }, version: { type: 'string' }, error: { type: 'string' } }, required: ['ok', 'latencyMs'] },
            },
          },
          required: ['status', 'version', 'checks'],
        },
      },
    },
  };
}

/** Azure's SessionIdentifier pattern (reference §3), as engine/dataplane/requests.ts enforces it. */
export const IDENTIFIER_PATTERN_SOURCE = '^[a-zA-Z0-9_|}{\\[\\]:"";\'<>?/.,@#$%^&*()\\-+=!~`]{4,128}$';

function operationHeaders() {
  return {
    'operation-id': { description: 'The execution id.', schema: { type: 'string' } },
    'Operation-Location': { description: 'Where to GET the execution (this endpoint, the same api-version and identifier).', schema: { type: 'string', format: 'uri' } },
  };
}

function fileContent() {
  return {
    description: 'The bytes, typed by the file (e.g. text/csv), with Content-Length and Last-Modified.',
    headers: { 'Last-Modified': { schema: { type: 'string' } } },
    content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
  };
}

export function registerOpenApi(app: FastifyInstance): void {
  const document = JSON.stringify(dataPlaneOpenApi());
  // Public like /healthz: it describes the API and reveals nothing about pools or sessions.
  app.get('/openapi.json', (_request, reply) => reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(document));
}
