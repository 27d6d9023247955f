// What issue 4 asks of the data plane beyond single requests, through the clients' own request
// shapes: a Python session kept across calls, a matplotlib image, a file's whole life, an
// asynchronous execution, a deleted session's identifier starting over empty, and a full pool.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { countByState, waitFor } from '../testing/harness';
import { releaseSession, type ConformanceContext } from './context';
import { REQUEST_TIMEOUT_MS, SAMPLE_CSV } from './replay';
import { sendDocumented as send } from './documented';
import { compactJson, fetchFormData, type WireResponse } from './wire';

const NEW = '2025-10-02-preview';
const LEGACY = '2024-02-02-preview';

export function scenarios(context: ConformanceContext): void {
  const query = (identifier: string, apiVersion: string) => `identifier=${encodeURIComponent(identifier)}&api-version=${apiVersion}`;
  const auth = async (endpoint = context.endpoint): Promise<[string, string]> => [
    'Authorization',
    `Bearer ${await context.token('https://dynamicsessions.io/.default', endpoint === context.smallEndpoint ? context.smallExecutor : context.executor)}`,
  ];
  /** The legacy execute of reference §4.2.1 (LangChain, AutoGen, LlamaIndex). */
  const legacyExecute = async (identifier: string, code: string, endpoint = context.endpoint) =>
    send({
      method: 'POST',
      url: `${endpoint}/code/execute?${query(identifier, LEGACY)}`,
      headers: [await auth(endpoint), ['Content-Type', 'application/json']],
      body: compactJson({ properties: { codeInputType: 'inline', executionType: 'synchronous', code } }),
    });
  /** POST /executions of reference §4.3.1. */
  const execution = async (identifier: string, body: Record<string, unknown>) =>
    send({ method: 'POST', url: `${context.endpoint}/executions?${query(identifier, NEW)}`, headers: [await auth(), ['Content-Type', 'application/json']], body: compactJson(body) });
  const get = async (path: string, identifier: string) => send({ method: 'GET', url: `${context.endpoint}/${path}?${query(identifier, NEW)}`, headers: [await auth()] });

  describe('scenarios (issue 4)', () => {
    it('a Python session keeps its variables and imports across calls, on both contracts', async () => {
      const identifier = randomUUID();
      expect((await legacyExecute(identifier, 'import statistics\nreadings = [3, 5, 10]')).json.properties.status).toBe('Success');
      const legacy = await legacyExecute(identifier, 'readings.append(12)\nstatistics.mean(readings)');
      expect(legacy.json.properties).toMatchObject({ status: 'Success', result: 7.5 });
      const later = await execution(identifier, { codeInputType: 'Inline', executionType: 'Synchronous', code: 'len(readings)' });
      expect(later.json).toMatchObject({ status: 'Succeeded', result: { executionResult: 4 } });
      expect(later.headers['x-ms-session-guid']).toBe(legacy.headers['x-ms-session-guid']);
      await releaseSession(context, context.endpoint, identifier);
    }, 2 * REQUEST_TIMEOUT_MS);

    it('a matplotlib figure comes back as a PNG image on both contracts', async () => {
      const identifier = randomUUID();
      const code = "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.bar(['a', 'b'], [3, 5])\nplt.show()";
      for (const response of [await legacyExecute(identifier, code), await execution(identifier, { code })]) {
        const result = response.json.properties?.result ?? response.json.result.executionResult;
        expect(result, response.text.slice(0, 300)).toMatchObject({ type: 'image', format: 'png' });
        expect(Buffer.from(result.base64_data, 'base64').subarray(1, 4).toString()).toBe('PNG');
      }
      await releaseSession(context, context.endpoint, identifier);
    }, 2 * REQUEST_TIMEOUT_MS);

    it('a file is uploaded, listed, downloaded and deleted (new contract, /files)', async () => {
      const identifier = randomUUID();
      const form = await fetchFormData({ field: 'file', filename: 'weather.csv', data: SAMPLE_CSV });
      const uploaded = await send({ method: 'POST', url: `${context.endpoint}/files?${query(identifier, NEW)}`, headers: [await auth(), ['content-type', form.contentType]], body: form.body });
      expect(uploaded.status, uploaded.text).toBe(200);
      expect(uploaded.json).toMatchObject({ name: 'weather.csv', sizeInBytes: SAMPLE_CSV.length, type: 'File' });
      expect((await get('files', identifier)).json.value).toEqual([expect.objectContaining({ name: 'weather.csv', sizeInBytes: SAMPLE_CSV.length })]);
      expect((await get('files/weather.csv/content', identifier)).bytes.equals(SAMPLE_CSV)).toBe(true);
      const deleted = await send({ method: 'DELETE', url: `${context.endpoint}/files/weather.csv?${query(identifier, NEW)}`, headers: [await auth()] });
      expect(deleted.status).toBe(204);
      expect((await get('files', identifier)).json.value).toEqual([]);
      const gone = await get('files/weather.csv/content', identifier);
      expect(gone.status).toBe(404);
      expect(gone.headers['x-ms-error-code']).toBe(gone.json.error.code);
      await releaseSession(context, context.endpoint, identifier);
    }, 2 * REQUEST_TIMEOUT_MS);

    it('an asynchronous execution answers 202 with operation-id and Operation-Location, and is polled to its result', async () => {
      const identifier = randomUUID();
      const accepted = await execution(identifier, { codeInputType: 'Inline', executionType: 'Asynchronous', code: "import time\ntime.sleep(1)\nprint('done')\n6 * 7" });
      expect(accepted.status, accepted.text).toBe(202);
      expect(accepted.json).toMatchObject({ id: accepted.headers['operation-id'], identifier, executionType: 'Asynchronous', status: 'Running' });
      const location = String(accepted.headers['operation-location']);
      expect(location).toContain(`/executions/${accepted.json.id}`);
      // The engine builds the URL from the Host it was sent; poll it as a client would.
      const polled = await waitFor(
        'the execution to end',
        async () => {
          const response: WireResponse = await send({ method: 'GET', url: location, headers: [await auth()] });
          expect(response.status).toBe(200);
          return response.json.status === 'Running' ? undefined : response;
        },
        30_000,
      );
      expect(polled.json).toMatchObject({ id: accepted.json.id, status: 'Succeeded', result: { stdout: 'done\n', executionResult: 42 } });
      await releaseSession(context, context.endpoint, identifier);
    }, 2 * REQUEST_TIMEOUT_MS);

    it('DELETE /session frees the identifier: its next request gets a fresh, empty session', async () => {
      const identifier = randomUUID();
      const first = await legacyExecute(identifier, "secret = 'before'\nopen('/mnt/data/left.txt', 'w').write('x')");
      expect(first.json.properties.status).toBe('Success');
      const deleted = await send({ method: 'DELETE', url: `${context.endpoint}/session?${query(identifier, NEW)}`, headers: [await auth()] });
      expect(deleted.status).toBe(204);
      const again = await legacyExecute(identifier, "import os\nprint(os.listdir('/mnt/data'))\nsecret");
      expect(again.json.properties).toMatchObject({ status: 'Failure', stdout: '[]\n' });
      expect(again.json.properties.stderr).toMatch(/NameError/);
      expect(again.headers['x-ms-session-guid']).not.toBe(first.headers['x-ms-session-guid']);
      await releaseSession(context, context.endpoint, identifier);
    }, 2 * REQUEST_TIMEOUT_MS);

    it('a pool at maxConcurrentSessions refuses a new identifier with 429 SessionPoolCapacityReached; existing sessions go on', async () => {
      const holder = randomUUID();
      expect((await legacyExecute(holder, '1', context.smallEndpoint)).status).toBe(200);
      const refused = await legacyExecute(randomUUID(), '1', context.smallEndpoint);
      expect(refused.status).toBe(429);
      expect(refused.json.error).toEqual({ code: 'SessionPoolCapacityReached', message: expect.stringMatching(/maximum of 1 session/) });
      expect(refused.headers['x-ms-error-code']).toBe('SessionPoolCapacityReached');
      expect((await legacyExecute(holder, '2', context.smallEndpoint)).json.properties.result).toBe(2);
      await releaseSession(context, context.smallEndpoint, holder);
      // Freed: the pool refills its one sandbox for the next test that needs it.
      await waitFor('the small pool to refill', async () => ((await countByState(context.engine, context.smallPool.id)).READY ?? 0) >= 1, 60_000);
    }, 2 * REQUEST_TIMEOUT_MS);
  });
}
