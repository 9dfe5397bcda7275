import type { Context } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../app-env.ts';

/**
 * CORS for the API, allowing the origins in `EDGELOOP_CORS_ORIGINS` (comma-separated, or
 * `*`). With none listed only same-origin pages (the app this Worker serves) can call it.
 */
export const apiCors = cors({
  origin: (origin, c: Context<AppEnv>) => {
    const allowed = (c.env.EDGELOOP_CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    if (allowed.includes('*')) return '*';
    return allowed.includes(origin) ? origin : null;
  },
  allowMethods: ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'OPTIONS'],
  allowHeaders: [
    'Authorization',
    'Content-Type',
    'Content-Encoding',
    'If-None-Match',
    'Edgeloop-Client-Token',
    'Edgeloop-Examples',
    'Edgeloop-Held-Out',
  ],
  // Retry-After is not CORS-safelisted: the browser worker reads it to back off after a 429.
  exposeHeaders: ['ETag', 'Retry-After'],
  maxAge: 86400,
});
