// The az CLI's `az containerapp session code-interpreter …` commands (reference §6.4; the
// containerapp extension's _clients.py SessionCodeInterpreterPreviewClient): the pool's
// poolManagementEndpoint read from the control plane first, then the new contract with
// api-version 2025-02-02-preview, the identifier as typed (not encoded), a body wrapped in
// `properties` on /executions, and `path` split off file names with a "/". The CLI prints the
// JSON it gets back.
import { expect } from 'vitest';
import { GET as armGet } from '../../app/subscriptions/[...path]/route';
import type { ConformanceContext } from './context';
import { expectSuccess, replayClient, SAMPLE_CSV, type ClientState, type ClientStep } from './replay';
import { pythonJson, REQUESTS_DEFAULT_HEADERS, urllib3Multipart } from './wire';

const API_VERSION = '2025-02-02-preview';
const SUBSCRIPTION = '6a1c5bd2-3a8e-4c0f-9b1e-2f0d8c7e4a55';
const RESOURCE_GROUP = 'agents-rg';

// azure-cli-core's send_raw_request adds these to every request (the reference does not list them).
const rawRequestHeaders = (client: ClientState, command: string, extra: [string, string][] = []): [string, string][] => [
  ['User-Agent', 'AZURECLI/2.77.0 (DEB) azsdk-python-core/1.35.0 Python/3.12.10 (Linux-6.1.0-x86_64-with-glibc2.36)'],
  ...REQUESTS_DEFAULT_HEADERS,
  ['x-ms-client-request-id', '8c4a1f7e-5d2b-11f0-9a3c-0242ac120002'],
  ['CommandName', command],
  ['ParameterSetName', '-n -g --identifier'],
  ...extra,
  ['Authorization', `Bearer ${client.token}`],
];

const executionUrl = (client: ClientState) => `${client.endpoint}/executions?identifier=${client.identifier}&api-version=${API_VERSION}`;
/** `extract_path_from_filename`: "dir/name" becomes name with path=dir. */
function fileUrl(client: ClientState, filename: string, suffix = ''): string {
  const slash = filename.lastIndexOf('/');
  const [path, name] = slash < 0 ? [null, filename] : [filename.slice(0, slash), filename.slice(slash + 1)];
  return `${client.endpoint}/files/${name}${suffix}?${path === null ? '' : `path=${path}&`}identifier=${client.identifier}&api-version=${API_VERSION}`;
}

function execute(code: string): ClientStep['request'] {
  return (client) => ({
    method: 'POST',
    url: executionUrl(client),
    headers: rawRequestHeaders(client, 'containerapp session code-interpreter execute', [['Content-Type', 'application/json']]),
    body: pythonJson({ properties: { identifier: client.identifier, codeInputType: 'inline', executionType: 'synchronous', timeoutInSeconds: 60, code } }),
  });
}

export const AZ_CLI_STEPS: ClientStep[] = [
  {
    name: 'execute --code: POST executions, {"properties": {identifier, codeInputType, executionType, timeoutInSeconds: 60, code}}; 200 (201 would be polled)',
    request: execute("import os\nos.makedirs('/mnt/data/reports', exist_ok=True)\nopen('/mnt/data/reports/q1.txt', 'w').write('revenue up')\nprint('written')"),
    reads: (response, client) => {
      expect(response.status, response.text).toBe(200);
      expect(response.json).toMatchObject({ id: expect.any(String), identifier: client.identifier, status: 'Succeeded', result: { stdout: 'written\n', stderr: '' } });
    },
  },
  {
    name: 'upload-file --filepath: POST files (requests, multipart "file" named by basename, type guessed)',
    request: (client) => {
      const form = urllib3Multipart({ field: 'file', filename: 'weather.csv', data: SAMPLE_CSV, contentType: 'text/csv' });
      return {
        method: 'POST',
        url: `${client.endpoint}/files?identifier=${client.identifier}&api-version=${API_VERSION}`,
        headers: [['User-Agent', 'python-requests/2.32.3'], ...REQUESTS_DEFAULT_HEADERS, ['Authorization', `Bearer ${client.token}`], ['Content-Type', form.contentType]],
        body: form.body,
      };
    },
    reads: (response) => {
      expectSuccess(response);
      expect(response.json).toMatchObject({ name: 'weather.csv', sizeInBytes: SAMPLE_CSV.length, type: 'File' });
    },
  },
  {
    name: 'list-files: GET files?identifier=…&path=&api-version=… (empty path)',
    request: (client) => ({ method: 'GET', url: `${client.endpoint}/files?identifier=${client.identifier}&path=&api-version=${API_VERSION}`, headers: rawRequestHeaders(client, 'containerapp session code-interpreter list-files') }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.json.value.map((file: { name: string }) => file.name).sort()).toEqual(['reports', 'weather.csv']);
    },
  },
  {
    name: 'show-file-content --filename weather.csv: GET files/weather.csv/content',
    request: (client) => ({ method: 'GET', url: fileUrl(client, 'weather.csv', '/content'), headers: rawRequestHeaders(client, 'containerapp session code-interpreter show-file-content') }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.bytes.equals(SAMPLE_CSV)).toBe(true);
    },
  },
  {
    name: 'show-file-content --filename reports/q1.txt: GET files/q1.txt/content?path=reports',
    request: (client) => ({ method: 'GET', url: fileUrl(client, 'reports/q1.txt', '/content'), headers: rawRequestHeaders(client, 'containerapp session code-interpreter show-file-content') }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.text).toBe('revenue up');
    },
  },
  {
    name: 'show-file-metadata --filename weather.csv: GET files/weather.csv',
    request: (client) => ({ method: 'GET', url: fileUrl(client, 'weather.csv'), headers: rawRequestHeaders(client, 'containerapp session code-interpreter show-file-metadata') }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.json).toMatchObject({ name: 'weather.csv', sizeInBytes: SAMPLE_CSV.length, lastModifiedAt: expect.any(String) });
    },
  },
  {
    name: 'delete-file --filename weather.csv: DELETE files/weather.csv; status 200–204',
    request: (client) => ({ method: 'DELETE', url: fileUrl(client, 'weather.csv'), headers: rawRequestHeaders(client, 'containerapp session code-interpreter delete-file') }),
    reads: (response) => {
      expect([200, 201, 202, 204]).toContain(response.status);
    },
  },
  {
    name: 'list-files after the delete',
    request: (client) => ({ method: 'GET', url: `${client.endpoint}/files?identifier=${client.identifier}&path=&api-version=${API_VERSION}`, headers: rawRequestHeaders(client, 'containerapp session code-interpreter list-files') }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.json.value.map((file: { name: string }) => file.name)).toEqual(['reports']);
    },
  },
];

export function replayAzCli(context: ConformanceContext): void {
  replayClient(context, {
    title: 'az containerapp session code-interpreter (reference §6.4)',
    scope: 'https://dynamicsessions.io',
    discover: {
      name: 'get_sessionpool_endpoint: GET the pool from the control plane (ARM), read properties.poolManagementEndpoint',
      run: async (client: ClientState) => {
        const token = await context.token('https://management.azure.com/.default');
        const segments = [SUBSCRIPTION, 'resourceGroups', RESOURCE_GROUP, 'providers', 'Microsoft.App', 'sessionPools', context.pool.name];
        const response = await armGet(
          new Request(`http://localhost:3000/subscriptions/${segments.join('/')}?api-version=${API_VERSION}`, { headers: { authorization: `Bearer ${token}` } }),
          { params: Promise.resolve({ path: segments }) },
        );
        expect(response.status).toBe(200);
        const endpoint = ((await response.json()) as { properties: { poolManagementEndpoint: string } }).properties.poolManagementEndpoint;
        expect(endpoint).toBe(context.pool.poolManagementEndpoint);
        // The CLI uses the endpoint as given; only its origin differs here (the test engine's port).
        client.endpoint = context.engine.url + new URL(endpoint).pathname;
      },
    },
    steps: AZ_CLI_STEPS,
  });
}
