// LangChain JS `SessionsPythonREPLTool` (@langchain/azure-dynamic-sessions), reference §10.3:
// Node's fetch to the legacy contract with api-version 2024-02-02-preview, the identifier
// through encodeURIComponent, a token for the older https://acasessions.io audience. It has no
// session delete.
import { expect } from 'vitest';
import type { ConformanceContext } from './context';
import { bearer, expectSuccess, legacyFiles, legacyProperties, replayClient, SAMPLE_CSV, type ClientState, type ClientStep } from './replay';
import { compactJson, FETCH_DEFAULT_HEADERS, fetchFormData } from './wire';

const USER_AGENT = `langchainjs-azure-dynamic-sessions @langchain/azure-dynamic-sessions/0.2.1 (Language=JavaScript; node.js/${process.version}; ${process.platform}; ${process.arch})`;

/** `_buildUrl`. */
function url(client: ClientState, path: string): string {
  let built = `${client.endpoint}${client.endpoint.endsWith('/') ? '' : '/'}${path}`;
  built += built.includes('?') ? '&' : '?';
  return `${built}identifier=${encodeURIComponent(client.identifier)}&api-version=2024-02-02-preview`;
}

const headers = (client: ClientState, extra: [string, string][] = []): [string, string][] => [...extra, bearer(client), ['User-Agent', USER_AGENT], ...FETCH_DEFAULT_HEADERS];

export const LANGCHAIN_JS_STEPS: ClientStep[] = [
  {
    name: '_call: POST code/execute (JSON.stringify body); reads properties.result, stdout, stderr; throws unless response.ok',
    request: (client) => ({
      method: 'POST',
      url: url(client, 'code/execute'),
      headers: headers(client, [['Content-Type', 'application/json']]),
      body: compactJson({ properties: { codeInputType: 'inline', executionType: 'synchronous', code: 'import math\nprint(math.pi > 3)\nmath.factorial(5)' } }),
    }),
    reads: (response) => {
      expect(legacyProperties(response)).toMatchObject({ result: 120, stdout: 'True\n', stderr: '' });
    },
  },
  {
    name: 'uploadFile({data: Blob, remoteFilename}): FormData "file"; reads value[0].properties as {filename, size, last_modified_time, $id}',
    request: async (client) => {
      const form = await fetchFormData({ field: 'file', filename: 'weather.csv', data: SAMPLE_CSV });
      return { method: 'POST', url: url(client, 'files/upload'), headers: headers(client, [['content-type', form.contentType]]), body: form.body };
    },
    reads: (response) => {
      const [file] = legacyFiles(response);
      expect(file).toMatchObject({ filename: 'weather.csv', size: SAMPLE_CSV.length, $id: expect.any(String) });
      expect(new Date(file!.last_modified_time).getTime()).not.toBeNaN();
    },
  },
  {
    name: 'listFiles: GET files; reads value.map(x => x.properties)',
    request: (client) => ({ method: 'GET', url: url(client, 'files'), headers: [['authorization', `Bearer ${client.token}`], ['User-Agent', USER_AGENT], ...FETCH_DEFAULT_HEADERS] }),
    reads: (response) => {
      expect(legacyFiles(response)).toEqual([expect.objectContaining({ filename: 'weather.csv', size: SAMPLE_CSV.length, last_modified_time: expect.any(String), $id: expect.any(String) })]);
    },
  },
  {
    name: 'downloadFile({remoteFilename}): GET files/content/{remoteFilename}; reads a Blob',
    request: (client) => ({ method: 'GET', url: url(client, 'files/content/weather.csv'), headers: headers(client) }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.bytes.equals(SAMPLE_CSV)).toBe(true);
    },
  },
];

export function replayLangchainJs(context: ConformanceContext): void {
  replayClient(context, { title: 'LangChain JS SessionsPythonREPLTool (reference §10.3)', scope: 'https://acasessions.io/.default', steps: LANGCHAIN_JS_STEPS });
}
