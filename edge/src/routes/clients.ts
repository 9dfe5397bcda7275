import { Hono } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { ClientInfo } from '../../../protocol/events.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { clientIdParam } from '../http/params.ts';
import { getClient } from '../storage/events.ts';

/** `GET /v1/clients/{clientId}`: what the edge holds for a client (highest seq, counts by type). */
export const clients = new Hono<AppEnv>().get('/:clientId', requireScope('read'), async (c) => {
  const clientId = clientIdParam(c);
  const info = await getClient(c.env.DB, clientId);
  if (!info) throw new ApiError(404, ErrorCode.CLIENT_NOT_FOUND, `no events received from client "${clientId}"`);
  return c.json<ClientInfo>(info);
});
