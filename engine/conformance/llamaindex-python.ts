// LlamaIndex Python `AzureCodeInterpreterToolSpec` (llama-index-tools-azure-code-interpreter),
// reference §10.7: requests to the legacy contract with api-version 2024-02-02-preview, code
// that always ends with "\n", uploads named `/mnt/data/<basename>`, and an image result saved
// from `result.base64_data` with `result.format` as its extension.
import { expect } from 'vitest';
import type { ConformanceContext } from './context';
import { bearer, expectSuccess, legacyFiles, legacyProperties, replayClient, SAMPLE_CSV, type ClientState, type ClientStep } from './replay';
import { pythonJson, REQUESTS_DEFAULT_HEADERS, urllib3Multipart } from './wire';

const USER_AGENT = 'llamaindex-azure-code-interpreter/0.4.0 (Language=Python)';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** `_build_url`. */
function url(client: ClientState, path: string): string {
  const base = client.endpoint.endsWith('/') ? client.endpoint : `${client.endpoint}/`;
  return `${base}${path}${base.includes('?') ? '&' : '?'}identifier=${encodeURIComponent(client.identifier)}&api-version=2024-02-02-preview`;
}

// Only code_interpreter sets a User-Agent; the file methods keep requests' own.
const withUserAgent = (client: ClientState): [string, string][] => [['User-Agent', USER_AGENT], ...REQUESTS_DEFAULT_HEADERS, bearer(client), ['Content-Type', 'application/json']];
const plain = (client: ClientState, extra: [string, string][] = []): [string, string][] => [['User-Agent', 'python-requests/2.32.3'], ...REQUESTS_DEFAULT_HEADERS, bearer(client), ...extra];

function codeInterpreter(code: string): ClientStep['request'] {
  // _sanitize_input: trimmed, then "\n" appended when missing.
  return (client) => ({ method: 'POST', url: url(client, 'code/execute'), headers: withUserAgent(client), body: pythonJson({ properties: { codeInputType: 'inline', executionType: 'synchronous', code: `${code.trim()}\n` } }) });
}

export const LLAMAINDEX_PYTHON_STEPS: ClientStep[] = [
  {
    name: 'code_interpreter: POST code/execute; returns the whole JSON',
    request: codeInterpreter("total = sum(range(10))\nprint(f'total={total}')\ntotal"),
    reads: (response) => {
      expect(legacyProperties(response)).toMatchObject({ status: 'Success', stdout: 'total=45\n', stderr: '', result: 45 });
    },
  },
  {
    name: 'code_interpreter with a matplotlib figure: properties.result is {type: "image", format, base64_data}',
    request: codeInterpreter("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [4, 1, 9])\nplt.title('conformance')\nplt.show()"),
    reads: (response) => {
      const properties = legacyProperties(response);
      expect(properties.status, properties.stderr).toBe('Success');
      const result = properties.result as { type: string; format: string; base64_data: string };
      expect(result).toMatchObject({ type: 'image', format: 'png', base64_data: expect.any(String) });
      const png = Buffer.from(result.base64_data, 'base64');
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(png.length).toBeGreaterThan(1000);
    },
  },
  {
    name: 'upload_file(local_file_path): POST files/upload, filename "/mnt/data/<basename>"; reads every value[].properties.{filename,size}',
    request: (client) => {
      const form = urllib3Multipart({ field: 'file', filename: '/mnt/data/weather.csv', data: SAMPLE_CSV, contentType: 'application/octet-stream' });
      return { method: 'POST', url: url(client, 'files/upload'), headers: plain(client, [['Content-Type', form.contentType]]), body: form.body };
    },
    reads: (response) => {
      expect(legacyFiles(response)).toEqual([expect.objectContaining({ filename: 'weather.csv', size: SAMPLE_CSV.length })]);
    },
  },
  {
    name: 'list_files: GET files; reads value[].properties.{filename,size}',
    request: (client) => ({ method: 'GET', url: url(client, 'files'), headers: plain(client) }),
    reads: (response) => {
      expect(legacyFiles(response)).toEqual([expect.objectContaining({ filename: 'weather.csv', size: SAMPLE_CSV.length })]);
    },
  },
  {
    name: 'download_file_to_local("/mnt/data/weather.csv"): the prefix stripped, GET files/content/weather.csv',
    request: (client) => ({ method: 'GET', url: url(client, `files/content/${'/mnt/data/weather.csv'.replace('/mnt/data/', '')}`), headers: plain(client) }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.bytes.equals(SAMPLE_CSV)).toBe(true);
    },
  },
];

export function replayLlamaindexPython(context: ConformanceContext): void {
  replayClient(context, { title: 'LlamaIndex Python AzureCodeInterpreterToolSpec (reference §10.7)', scope: 'https://dynamicsessions.io/.default', steps: LLAMAINDEX_PYTHON_STEPS });
}
