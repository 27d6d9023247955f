// Semantic Kernel Python `SessionsPythonTool` (reference §10.4): httpx to the legacy contract
// with api-version 2024-02-02-preview, the identifier not URL-encoded, a token for
// https://acasessions.io, bodies from its settings model (timeoutInSeconds 100), uploads named
// `/mnt/data/<name>`. It reads `status`, `result`, `stdout` and `stderr` with [] (KeyError if one
// is missing). (Semantic Kernel also requires an https:// endpoint: see the README text.)
import { expect } from 'vitest';
import type { ConformanceContext } from './context';
import { bearer, expectSuccess, legacyFiles, legacyProperties, replayClient, SAMPLE_CSV, type ClientState, type ClientStep } from './replay';
import { compactJson, HTTPX_DEFAULT_HEADERS, httpxMultipart } from './wire';

const USER_AGENT = 'semantic-kernel-python/1.35.0 (Language=Python)';

/** `_build_url_with_version`: "/" after the endpoint, a trailing "/" of the path dropped, the query joined raw. */
function url(client: ClientState, path: string): string {
  const base = client.endpoint.endsWith('/') ? client.endpoint : `${client.endpoint}/`;
  return `${base}${path.endsWith('/') ? path.slice(0, -1) : path}?identifier=${client.identifier}&api-version=2024-02-02-preview`;
}

// The client's default User-Agent is replaced in place by headers.update().
const headers = (client: ClientState, extra: [string, string][] = []): [string, string][] => [...HTTPX_DEFAULT_HEADERS, ['User-Agent', USER_AGENT], bearer(client), ...extra];

export const SEMANTIC_KERNEL_PYTHON_STEPS: ClientStep[] = [
  {
    name: 'upload_file(local_file_path, remote_file_path): POST files/upload, filename "/mnt/data/<name>"; reads value[0].properties.{filename,size}',
    request: (client) => {
      const form = httpxMultipart({ field: 'file', filename: '/mnt/data/weather.csv', data: SAMPLE_CSV, contentType: 'application/octet-stream' });
      return { method: 'POST', url: url(client, 'files/upload'), headers: headers(client, [['Content-Type', form.contentType]]), body: form.body };
    },
    reads: (response) => {
      const [file] = legacyFiles(response);
      expect(file).toMatchObject({ filename: 'weather.csv', size: SAMPLE_CSV.length });
    },
  },
  {
    name: 'list_files: GET files; reads value[].properties.{filename,size}',
    request: (client) => ({ method: 'GET', url: url(client, 'files'), headers: headers(client) }),
    reads: (response) => {
      expect(legacyFiles(response)).toEqual([expect.objectContaining({ filename: 'weather.csv', size: SAMPLE_CSV.length })]);
    },
  },
  {
    name: 'download_file(remote_file_name): GET files/content/{name}; reads the bytes',
    request: (client) => ({ method: 'GET', url: url(client, 'files/content/weather.csv'), headers: headers(client) }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.bytes.equals(SAMPLE_CSV)).toBe(true);
    },
  },
  {
    name: 'execute_code: POST code/execute/ (trailing "/" trimmed), {"properties": {codeInputType, executionType, code, timeoutInSeconds: 100}}; reads properties.status, result, stdout, stderr',
    request: (client) => ({
      method: 'POST',
      url: url(client, 'code/execute/'),
      headers: headers(client, [['Content-Type', 'application/json']]),
      body: compactJson({ properties: { codeInputType: 'inline', executionType: 'synchronous', code: "import pandas as pd\ndf = pd.read_csv('/mnt/data/weather.csv')\nprint(len(df))\nint(df.temperature.max())", timeoutInSeconds: 100 } }),
    }),
    reads: (response) => {
      expect(legacyProperties(response)).toMatchObject({ status: 'Success', result: 31, stdout: '2\n', stderr: '' });
    },
  },
];

export function replaySemanticKernelPython(context: ConformanceContext): void {
  replayClient(context, { title: 'Semantic Kernel Python SessionsPythonTool (reference §10.4)', scope: 'https://acasessions.io/.default', steps: SEMANTIC_KERNEL_PYTHON_STEPS });
}
