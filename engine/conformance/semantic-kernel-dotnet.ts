// Semantic Kernel .NET `SessionsPythonPlugin` (reference §10.5): HttpClient to the new contract
// with api-version 2024-10-02-preview: a flat execution body with PascalCase enums (and the older
// variant with `identifier` and `pythonCode`), uploads with .NET's multipart layout, and
// `GetProperty` on every field it reads (a missing one throws). The token comes from the
// caller's authTokenProvider; the reference names no scope, so Azure's documented one is used.
import { expect } from 'vitest';
import type { ConformanceContext } from './context';
import { expectSuccess, replayClient, SAMPLE_CSV, type ClientState, type ClientStep } from './replay';
import { compactJson, dotnetMultipart, type WireResponse } from './wire';

const USER_AGENT = 'Semantic-Kernel/1.60.0 (Language=dotnet)';

/** `{EP}/{path}?identifier={SessionId}&api-version=…`, the endpoint normalised to end with "/". */
function url(client: ClientState, path: string): string {
  const base = client.endpoint.replace('/python/execute', '');
  return `${base.endsWith('/') ? base : `${base}/`}${path}?identifier=${client.identifier}&api-version=2024-10-02-preview`;
}

// DefaultRequestHeaders (User-Agent, Authorization), then the content's own headers.
const headers = (client: ClientState, content: [string, string][] = []): [string, string][] => [['User-Agent', USER_AGENT], ['Authorization', `Bearer ${client.token}`], ...content];

function executionReads(stdout: string, executionResult: unknown) {
  return (response: WireResponse) => {
    expectSuccess(response);
    const body = response.json;
    expect(body.status).toBe('Succeeded');
    // GetProperty("result").GetProperty(…) for each: all must exist.
    expect(body.result).toMatchObject({ executionResult, stdout, stderr: '' });
  };
}

/** SessionsRemoteFileMetadata, read from the top-level object. */
function expectFileMetadata(file: unknown) {
  expect(file).toMatchObject({ name: 'weather.csv', sizeInBytes: SAMPLE_CSV.length, type: expect.stringMatching(/^file$/i), contentType: expect.any(String) });
  expect(new Date((file as { lastModifiedAt: string }).lastModifiedAt).getTime()).not.toBeNaN();
}

export const SEMANTIC_KERNEL_DOTNET_STEPS: ClientStep[] = [
  {
    name: 'ExecuteCodeAsync: POST executions, flat {"codeInputType":"Inline","executionType":"Synchronous","timeoutInSeconds":100,"code":…}; reads status, result.{executionResult,stdout,stderr}',
    request: (client) => ({
      method: 'POST',
      url: url(client, 'executions'),
      headers: headers(client, [['Content-Type', 'application/json; charset=utf-8']]),
      body: compactJson({ codeInputType: 'Inline', executionType: 'Synchronous', timeoutInSeconds: 100, code: "print('Hello World!')\n2 + 2" }),
    }),
    reads: executionReads('Hello World!\n', 4),
  },
  {
    name: 'ExecuteCodeAsync (older variant): {"identifier":…,"codeInputType":…,"executionType":…,"timeoutInSeconds":…,"pythonCode":…}',
    request: (client) => ({
      method: 'POST',
      url: url(client, 'executions'),
      headers: headers(client, [['Content-Type', 'application/json; charset=utf-8']]),
      body: compactJson({ identifier: client.identifier, codeInputType: 'Inline', executionType: 'Synchronous', timeoutInSeconds: 100, pythonCode: "greeting = 'kept'\nprint(greeting)" }),
    }),
    reads: executionReads('kept\n', ''),
  },
  {
    name: 'UploadFileAsync(remoteFileName, localFilePath): POST files, .NET multipart "file"; reads the top-level {name,sizeInBytes,lastModifiedAt,contentType,type}',
    request: (client) => {
      const form = dotnetMultipart({ field: 'file', filename: 'weather.csv', data: SAMPLE_CSV });
      return { method: 'POST', url: url(client, 'files'), headers: headers(client, [['Content-Type', form.contentType]]), body: form.body };
    },
    reads: (response) => {
      expectSuccess(response);
      expectFileMetadata(response.json);
    },
  },
  {
    name: 'ListFilesAsync: GET files; reads value[] of the same objects',
    request: (client) => ({ method: 'GET', url: url(client, 'files'), headers: headers(client) }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.json.value).toHaveLength(1);
      expectFileMetadata(response.json.value[0]);
    },
  },
  {
    name: 'DownloadFileAsync: GET files/{Uri.EscapeDataString(name)}/content; reads the bytes',
    request: (client) => ({ method: 'GET', url: url(client, `files/${encodeURIComponent('weather.csv')}/content`), headers: headers(client) }),
    reads: (response) => {
      expectSuccess(response);
      expect(response.bytes.equals(SAMPLE_CSV)).toBe(true);
    },
  },
];

export function replaySemanticKernelDotnet(context: ConformanceContext): void {
  replayClient(context, { title: 'Semantic Kernel .NET SessionsPythonPlugin (reference §10.5)', scope: 'https://dynamicsessions.io/.default', steps: SEMANTIC_KERNEL_DOTNET_STEPS });
}
