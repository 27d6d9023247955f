// Holds the engine's OpenAPI document (engine/openapi/data-plane.ts) to what the engine really
// answers: every response the suite receives must have a documented status, and a JSON body
// that validates against the documented schema (JSON Schema 2020-12, as OpenAPI 3.1 uses).
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { expect } from 'vitest';
import { dataPlaneOpenApi } from '../openapi/data-plane';
import { send, type WireRequest, type WireResponse } from './wire';

type MediaTypes = Record<string, { schema?: object }>;
type Operation = { responses: Record<string, { content?: MediaTypes }> };

const document = dataPlaneOpenApi() as unknown as { paths: Record<string, Record<string, Operation>>; components: object };
// Formats (date-time, uri) are descriptions here, not checks; unknown OpenAPI keywords are fine.
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
const validators = new Map<string, ValidateFunction>();

/** The document's path templates as patterns; a `{name}` after files/content/ may contain "/". */
const templates = Object.keys(document.paths).map((template) => ({
  template,
  literal: template.replace(/\{\w+\}/g, '').length,
  pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\/files\/content\/\\?\{name\\?\}/, '/files/content/.+').replace(/\{\w+\}/g, '[^/]+')}$`),
}));

/** The operation a request reached, as the engine routes it: "//" collapsed, one trailing "/" ignored. */
function operationOf(wire: WireRequest): { template: string; operation: Operation } {
  const path = decodeURI(new URL(wire.url).pathname).replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
  const match = templates.filter((entry) => entry.pattern.test(path)).sort((a, b) => b.literal - a.literal)[0];
  const operation = match && document.paths[match.template]?.[wire.method.toLowerCase()];
  expect(operation, `${wire.method} ${path} is in the engine's OpenAPI document`).toBeDefined();
  return { template: match!.template, operation: operation! };
}

function validatorFor(key: string, schema: object): ValidateFunction {
  let validator = validators.get(key);
  if (!validator) {
    // The components travel with each schema so its "#/components/…" references resolve.
    validator = ajv.compile({ ...schema, components: document.components });
    validators.set(key, validator);
  }
  return validator;
}

export function expectDocumentedResponse(wire: WireRequest, response: WireResponse): void {
  const { template, operation } = operationOf(wire);
  const where = `${wire.method} ${template} → ${response.status}`;
  const documented = operation.responses[String(response.status)];
  expect(documented, `${where} is a documented status (${response.text.slice(0, 200)})`).toBeDefined();
  const contentType = String(response.headers['content-type'] ?? '');
  if (!documented!.content) {
    expect(response.bytes.length, `${where} has no body`).toBe(0);
    return;
  }
  const mediaTypes = Object.keys(documented!.content);
  if (contentType.startsWith('application/json') && mediaTypes.includes('application/json')) {
    const validate = validatorFor(`${wire.method} ${template} ${response.status}`, documented!.content['application/json']!.schema!);
    expect(validate(response.json), `${where}: ${JSON.stringify(validate.errors)} in ${response.text.slice(0, 300)}`).toBe(true);
    return;
  }
  expect(mediaTypes.some((type) => type === '*/*' || contentType.startsWith(type)), `${where}: ${contentType} is a documented media type (${mediaTypes.join(', ')})`).toBe(true);
}

/** Sends the request and checks the answer against the engine's OpenAPI document. */
export async function sendDocumented(wire: WireRequest): Promise<WireResponse> {
  const response = await send(wire);
  expectDocumentedResponse(wire, response);
  return response;
}
