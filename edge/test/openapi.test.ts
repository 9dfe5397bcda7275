import { describe, expect, it } from 'vitest';
import app from '../src/index.ts';
import { operations } from '../src/openapi/operations.ts';
import { api } from './helpers.ts';

interface Doc {
  openapi: string;
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>
  >;
}

const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

describe('GET /openapi.json', () => {
  it('is public OpenAPI 3.1 and documents every operation with its body schema', async () => {
    const res = await api('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Doc;
    expect(doc.openapi).toBe('3.1.0');
    for (const op of operations) expect(doc.paths[op.path]?.[op.method], routeKey(op.method, op.path)).toBeDefined();
    const events = doc.paths['/v1/events']?.post?.requestBody?.content['application/json']?.schema;
    expect(events?.required).toEqual(['v', 'clientId', 'batchId', 'events']);
    expect(events?.additionalProperties).toBe(false);
  });

  it('documents exactly the routes the app serves', () => {
    // Hono's `:param` (with an optional `{regex}`) is OpenAPI's `{param}`; middleware is not a route.
    const served = new Set(
      app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => routeKey(r.method, r.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}'))),
    );
    const documented = new Set([
      ...operations.map((op) => routeKey(op.method, op.path)),
      'GET /openapi.json',
      'GET /config.json',
    ]);
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it('every documented route exists: without a key it answers 401, never "no route"', async () => {
    for (const op of operations.filter((o) => o.scopes.length > 0)) {
      const path = op.path.replace(/\{\w+\}/g, 'x1');
      const res = await api(path, { method: op.method.toUpperCase() });
      expect(res.status, routeKey(op.method, path)).toBe(401);
    }
  });
});
