// AutoGen `ACADynamicSessionsCodeExecutor` (autogen-ext[azure]), reference §10.6: aiohttp to the
// legacy contract with api-version first in the query, a token for the bare resource
// https://dynamicsessions.io (no /.default). Before the first code block of a session it lists
// the installed packages and parses `str(result)` itself (it then refuses code importing a
// package missing from that list), and changes directory to /mnt/data.
import { expect } from 'vitest';
import type { ConformanceContext } from './context';
import { bearer, expectSuccess, legacyFiles, legacyProperties, replayClient, SAMPLE_CSV, type ClientState, type ClientStep } from './replay';
import { aiohttpMultipart, AIOHTTP_DEFAULT_HEADERS, pythonJson, type WireResponse } from './wire';

/** `_construct_url`: api-version first, the uuid4 identifier as is. */
function url(client: ClientState, path: string): string {
  return `${client.endpoint.endsWith('/') ? client.endpoint : `${client.endpoint}/`}${path}?api-version=2024-02-02-preview&identifier=${client.identifier}`;
}

const headers = (client: ClientState, extra: [string, string][] = []): [string, string][] => [...AIOHTTP_DEFAULT_HEADERS, bearer(client), ...extra];

function codeBlock(code: string): ClientStep['request'] {
  return (client) => ({ method: 'POST', url: url(client, 'code/execute'), headers: headers(client, [['Content-Type', 'application/json']]), body: pythonJson({ properties: { codeInputType: 'inline', executionType: 'synchronous', code } }) });
}

/** Python's str() of a JSON value, as AutoGen applies it to `result`. */
function pythonStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map((item) => (typeof item === 'string' ? `'${item}'` : pythonStr(item))).join(', ')}]`;
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return JSON.stringify(value);
}

/** `_execute_code_dont_check_setup`: output = stderr + stdout (+ str(result) on "Success"); exit code 1 on "Failure". */
function codeResult(response: WireResponse): { exitCode: number; output: string } {
  const properties = legacyProperties(response);
  let output = (properties.stderr ?? '') + (properties.stdout ?? '');
  if (properties.status.includes('Success')) output += pythonStr(properties.result);
  return { exitCode: properties.status.includes('Failure') ? 1 : 0, output };
}

export const AUTOGEN_STEPS: ClientStep[] = [
  {
    name: 'get_available_packages: runs pkg_resources.working_set; parses str(result).strip("[]").split(",\\n")',
    request: codeBlock('\nimport pkg_resources\n[d.project_name for d in pkg_resources.working_set]\n'),
    reads: (response) => {
      const { exitCode, output } = codeResult(response);
      expect(exitCode, output).toBe(0);
      const packages = new Set(output.replace(/^[[\]]+|[[\]]+$/g, '').split(',\n').map((name) => name.replace(/^[ ']+|[ ']+$/g, '')));
      // AutoGen refuses any later code block importing a package missing from this set.
      for (const name of ['numpy', 'pandas', 'matplotlib']) expect(packages, `AutoGen's parse of: ${output.slice(0, 300)}`).toContain(name);
    },
  },
  {
    name: "_setup_cwd: import os; os.chdir('/mnt/data')",
    request: codeBlock("import os; os.chdir('/mnt/data')"),
    reads: (response) => expect(codeResult(response).exitCode).toBe(0),
  },
  {
    name: 'upload_files: POST files/upload, aiohttp FormData "file" named by basename',
    request: (client) => {
      const form = aiohttpMultipart({ field: 'file', filename: 'weather.csv', data: SAMPLE_CSV, contentType: 'application/octet-stream' });
      return { method: 'POST', url: url(client, 'files/upload'), headers: headers(client, [['Content-Type', form.contentType]]), body: form.body };
    },
    reads: (response) => expectSuccess(response),
  },
  {
    name: 'execute_code_blocks: relative paths resolve in /mnt/data (the chdir persisted)',
    request: codeBlock("print(open('weather.csv').read().splitlines()[1])"),
    reads: (response) => {
      expect(codeResult(response)).toEqual({ exitCode: 0, output: 'Oslo,-3\n' });
    },
  },
  {
    name: 'execute_code_blocks of failing code: "Failure" in status means exit code 1',
    request: codeBlock("raise ValueError('no such city')"),
    reads: (response) => {
      const { exitCode, output } = codeResult(response);
      expect(exitCode).toBe(1);
      expect(output).toMatch(/ValueError: no such city/);
    },
  },
  {
    name: 'get_file_list: GET files; reads value[].properties.filename',
    request: (client) => ({ method: 'GET', url: url(client, 'files'), headers: headers(client) }),
    reads: (response) => {
      expect(legacyFiles(response).map((file) => file.filename)).toEqual(['weather.csv']);
    },
  },
  {
    name: 'download_files: GET files/content/{file}; reads the bytes',
    request: (client) => ({ method: 'GET', url: url(client, 'files/content/weather.csv'), headers: headers(client) }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.bytes.equals(SAMPLE_CSV)).toBe(true);
    },
  },
];

export function replayAutogen(context: ConformanceContext): void {
  replayClient(context, { title: 'AutoGen ACADynamicSessionsCodeExecutor (reference §10.6)', scope: 'https://dynamicsessions.io', steps: AUTOGEN_STEPS });
}
