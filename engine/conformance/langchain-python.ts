// LangChain Python `SessionsPythonREPLTool` (langchain-azure-dynamic-sessions), reference §10.1:
// requests (the requests library) to the legacy contract with api-version 2024-02-02-preview,
// and DELETE /session with 2025-10-02-preview.
import { expect } from 'vitest';
import type { ConformanceContext } from './context';
import { bearer, expectSuccess, legacyFiles, legacyProperties, replayClient, SAMPLE_CSV, type ClientState, type ClientStep } from './replay';
import { pythonJson, REQUESTS_DEFAULT_HEADERS, urllib3Multipart } from './wire';

const USER_AGENT = 'langchain-azure-dynamic-sessions/0.2.0 (Language=Python)';

/** `_build_url`: endpoint, "/" unless it ends with one, the path, then identifier (urllib.parse.quote) and api-version. */
function url(client: ClientState, path: string, apiVersion = '2024-02-02-preview'): string {
  const base = `${client.endpoint}${client.endpoint.endsWith('/') ? '' : '/'}${path}`;
  return `${base}${base.includes('?') ? '&' : '?'}identifier=${encodeURIComponent(client.identifier)}&api-version=${apiVersion}`;
}

// requests puts its session defaults first; the tool's own User-Agent replaces the default one.
const headers = (client: ClientState, extra: [string, string][] = []): [string, string][] => [['User-Agent', USER_AGENT], ...REQUESTS_DEFAULT_HEADERS, bearer(client), ...extra];

function execute(code: string): ClientStep['request'] {
  return (client) => ({
    method: 'POST',
    url: url(client, 'code/execute'),
    headers: headers(client, [['Content-Type', 'application/json']]),
    body: pythonJson({ properties: { codeInputType: 'inline', executionType: 'synchronous', code } }),
  });
}

export const LANGCHAIN_PYTHON_STEPS: ClientStep[] = [
  {
    name: 'execute: POST code/execute; reads properties.result, stdout, stderr',
    request: execute("print('hello world')\n6 * 7"),
    reads: (response) => {
      const properties = legacyProperties(response);
      expect(properties).toMatchObject({ status: 'Success', result: 42, stdout: 'hello world\n', stderr: '' });
    },
  },
  {
    name: 'execute of failing code: HTTP 200, the traceback in stderr',
    request: execute('1 / 0'),
    reads: (response) => {
      const properties = legacyProperties(response);
      expect(properties.status).toBe('Failure');
      expect(properties.stderr).toMatch(/ZeroDivisionError/);
    },
  },
  {
    name: 'upload_file: POST files/upload, multipart "file" named by remote_file_path; reads value[0].properties.{filename,size}',
    request: (client) => {
      const form = urllib3Multipart({ field: 'file', filename: 'weather.csv', data: SAMPLE_CSV, contentType: 'application/octet-stream' });
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
      expect(legacyFiles(response)).toContainEqual(expect.objectContaining({ filename: 'weather.csv', size: SAMPLE_CSV.length }));
    },
  },
  {
    name: 'download_file: GET files/content/{quote(path)}; reads the bytes',
    request: (client) => ({ method: 'GET', url: url(client, `files/content/${encodeURIComponent('weather.csv')}`), headers: headers(client) }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.bytes.equals(SAMPLE_CSV)).toBe(true);
    },
  },
  {
    name: 'execute sees the upload in /mnt/data and the earlier state',
    request: execute("import csv\nrows = list(csv.DictReader(open('/mnt/data/weather.csv')))\nrows[1]['city']"),
    reads: (response) => {
      expect(legacyProperties(response)).toMatchObject({ status: 'Success', result: 'Lagos' });
    },
  },
  {
    name: 'delete_session / close(): DELETE session with api-version 2025-10-02-preview; raise_for_status',
    request: (client) => ({ method: 'DELETE', url: url(client, 'session', '2025-10-02-preview'), headers: headers(client) }),
    reads: (response) => expectSuccess(response),
  },
];

export function replayLangchainPython(context: ConformanceContext): void {
  replayClient(context, { title: 'LangChain Python SessionsPythonREPLTool (reference §10.1)', scope: 'https://dynamicsessions.io/.default', steps: LANGCHAIN_PYTHON_STEPS });
}
