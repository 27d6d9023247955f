// LlamaIndex TS `AzureDynamicSessionTool` (reference §10.8): Node's fetch to the legacy contract,
// `call` posting to `EP + "/" + "/code/execute"` (a double slash) a body with `identifier` and
// `pythonCode`, and returning the raw JSON. Plus the Node sample's variant: no api-version at
// all and the unknown fields `timeout` and `enableEgress` (that sample runs JavaScript on a
// NodeLTS pool; Sandpool's pools run Python, so the replay sends Python).
import { expect } from 'vitest';
import type { ConformanceContext } from './context';
import { bearer, expectSuccess, legacyFiles, legacyProperties, replayClient, SAMPLE_CSV, type ClientState, type ClientStep } from './replay';
import { compactJson, FETCH_DEFAULT_HEADERS, fetchFormData } from './wire';

const USER_AGENT = `llamaindex/0.12.0 (Language=TypeScript; node.js/${process.version}; ${process.platform}; ${process.arch})`;

/** `_buildUrl`, given paths as the tool passes them ("/code/execute" after the added "/"). */
function url(client: ClientState, path: string): string {
  let built = `${client.endpoint}${client.endpoint.endsWith('/') ? '' : '/'}${path}`;
  built += built.includes('?') ? '&' : '?';
  return `${built}identifier=${encodeURIComponent(client.identifier)}&api-version=2024-02-02-preview`;
}

const headers = (client: ClientState, extra: [string, string][] = []): [string, string][] => [bearer(client), ...extra, ['User-Agent', USER_AGENT], ...FETCH_DEFAULT_HEADERS];

export const LLAMAINDEX_TS_STEPS: ClientStep[] = [
  {
    name: 'call({code}): POST …//code/execute, {"properties": {identifier, codeInputType, executionType, pythonCode}}; returns the raw JSON',
    request: (client) => ({
      method: 'POST',
      url: url(client, '/code/execute'),
      headers: headers(client, [['Content-Type', 'application/json']]),
      body: compactJson({ properties: { identifier: client.identifier, codeInputType: 'inline', executionType: 'synchronous', pythonCode: "words = ['sandbox', 'pool']\nprint(' '.join(words))\nlen(words)" } }),
    }),
    reads: (response) => {
      expect(legacyProperties(response)).toMatchObject({ status: 'Success', stdout: 'sandbox pool\n', stderr: '', result: 2 });
    },
  },
  {
    name: 'Node sample: POST code/execute?identifier=… without api-version, {"properties": {…, "timeout": 60, "enableEgress": true, "code": …}}',
    request: (client) => ({
      method: 'POST',
      url: `${client.endpoint}/code/execute?identifier=${client.identifier}`,
      headers: headers(client, [['Content-Type', 'application/json']]),
      body: compactJson({ properties: { codeInputType: 'inline', executionType: 'synchronous', timeout: 60, enableEgress: true, code: "print('hello-world')" } }),
    }),
    reads: (response) => {
      expect(legacyProperties(response)).toMatchObject({ status: 'Success', stdout: 'hello-world\n', executionResult: '' });
    },
  },
  {
    name: 'uploadFile({data, remoteFilename}): FormData "file"; reads value[0].properties',
    request: async (client) => {
      const form = await fetchFormData({ field: 'file', filename: 'weather.csv', data: SAMPLE_CSV });
      return { method: 'POST', url: url(client, 'files/upload'), headers: headers(client, [['content-type', form.contentType]]), body: form.body };
    },
    reads: (response) => {
      expect(legacyFiles(response)[0]).toMatchObject({ filename: 'weather.csv', size: SAMPLE_CSV.length, last_modified_time: expect.any(String), $id: expect.any(String) });
    },
  },
  {
    name: 'listFiles: GET files; reads value.map(x => x.properties)',
    request: (client) => ({ method: 'GET', url: url(client, 'files'), headers: headers(client) }),
    reads: (response) => {
      expect(legacyFiles(response)).toEqual([expect.objectContaining({ filename: 'weather.csv', size: SAMPLE_CSV.length })]);
    },
  },
  {
    name: 'downloadFile({remoteFilename}): GET files/content/{remoteFilename}; reads the body stream',
    request: (client) => ({ method: 'GET', url: url(client, 'files/content/weather.csv'), headers: headers(client) }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.bytes.equals(SAMPLE_CSV)).toBe(true);
    },
  },
];

export function replayLlamaindexTs(context: ConformanceContext): void {
  replayClient(context, { title: 'LlamaIndex TS AzureDynamicSessionTool (reference §10.8)', scope: 'https://dynamicsessions.io/.default', steps: LLAMAINDEX_TS_STEPS });
}
