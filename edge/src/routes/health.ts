import { Hono } from 'hono';
import type { ClientConfig } from '../../../protocol/config.ts';
import type { Health } from '../../../protocol/registry.ts';
import type { AppEnv } from '../app-env.ts';

/** Unauthenticated endpoints: liveness and the demo app's bootstrap config. */
export const health = new Hono<AppEnv>()
  .get('/healthz', (c) => c.json<Health>({ ok: true, version: c.env.EDGELOOP_VERSION }))
  .get('/config.json', (c) => {
    c.header('Cache-Control', 'no-store');
    // Client keys are publishable by design: they only resolve/download and post events.
    return c.json<ClientConfig>({
      v: 1,
      endpoint: new URL(c.req.url).origin,
      clientKey: c.env.EDGELOOP_CLIENT_KEY,
      model: 'digits',
      alias: 'production',
    });
  });
