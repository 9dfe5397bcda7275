import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { openApiDocument } from '../openapi/document.ts';

let cached: string | null = null;

/** `GET /openapi.json`: public, built once per isolate. */
export const openapi = new Hono<AppEnv>().get('/openapi.json', (c) => {
  cached ??= JSON.stringify(openApiDocument(c.env.EDGELOOP_VERSION));
  return c.body(cached, 200, { 'content-type': 'application/json' });
});
