import { toJsonSchema } from '@valibot/to-json-schema';
import type { GenericSchema } from 'valibot';
import { ErrorBody } from '../../../protocol/registry.ts';
import type { Operation } from './operation.ts';
import { operations } from './operations.ts';

type Json = Record<string, unknown>;

// Checks valibot cannot express in JSON Schema (e.g. "predictionId equals id") are left out
// of the document and still enforced by the validators.
const schema = (s: GenericSchema): Json => toJsonSchema(s, { target: 'draft-2020-12', errorMode: 'ignore' }) as Json;
const jsonContent = (s: GenericSchema) => ({ 'application/json': { schema: schema(s) } });

function operationObject(op: Operation): Json {
  const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = (op.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }));
  const success = op.bytes
    ? {
        description: 'file bytes',
        content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
      }
    : op.text
      ? { description: 'text', content: { 'text/plain': { schema: { type: 'string' } } } }
      : { description: 'success', ...(op.response ? { content: jsonContent(op.response) } : {}) };
  const error = { description: 'error (stable code)', content: jsonContent(ErrorBody) };
  return {
    summary: op.summary,
    ...(op.scopes.length ? { security: [{ bearer: [] }], 'x-edgeloop-scopes': op.scopes } : { security: [] }),
    ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
    ...(op.body === 'multipart'
      ? { requestBody: { required: true, content: { 'multipart/form-data': { schema: { type: 'object' } } } } }
      : op.body
        ? { requestBody: { required: true, content: jsonContent(op.body) } }
        : {}),
    responses: { [String(op.status ?? 200)]: success, '4XX': error },
  };
}

/**
 * The OpenAPI 3.1 document of the edge API, built from the protocol's valibot schemas (the
 * ones the handlers validate with), so it cannot drift from what the API accepts.
 *
 * @example
 * const doc = openApiDocument('0.1.0'); // doc.paths['/v1/events'].post.requestBody…
 */
export function openApiDocument(version: string): Json {
  const paths: Record<string, Json> = {};
  for (const op of operations) paths[op.path] = { ...paths[op.path], [op.method]: operationObject(op) };
  return {
    openapi: '3.1.0',
    info: { title: 'Edgeloop edge API', version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
