import { Hono } from 'hono';
import * as v from 'valibot';
import { type ClientIdentity, ClientRegistration } from '../../../protocol/clients.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { ClientInfo } from '../../../protocol/events.ts';
import type { AppEnv } from '../app-env.ts';
import { issueClientToken, newClientId } from '../auth/client-token.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { MAX_SMALL_BODY_BYTES } from '../http/body-limit.ts';
import { describeIssues } from '../http/issues.ts';
import { clientIdParam } from '../http/params.ts';
import { rateLimit } from '../http/rate-limit.ts';
import { readJson } from '../http/read-body.ts';
import { insertClient, revokeClient } from '../storage/clients.ts';
import { getClient } from '../storage/events.ts';

const clientNotFound = (clientId: string) =>
  new ApiError(404, ErrorCode.CLIENT_NOT_FOUND, `no client "${clientId}" is registered or sent events`);

/**
 * Client identities under `/v1/clients`: registration (client key) issues an id and the token
 * every write of that client carries; admins revoke; readers see what the edge holds.
 */
export const clients = new Hono<AppEnv>()
  .post('/', requireScope('client'), rateLimit(), async (c) => {
    const body = v.safeParse(ClientRegistration, await readJson(c.req.raw, MAX_SMALL_BODY_BYTES, 'the registration'));
    if (!body.success) throw new ApiError(400, ErrorCode.INVALID_BODY, describeIssues(body.issues));
    const clientId = newClientId();
    // Issued before the row is written, so a missing secret leaves nothing behind.
    const token = await issueClientToken(c.env, clientId);
    await insertClient(c.env.DB, { clientId, nextSeq: body.output.nextSeq, now: Date.now() });
    return c.json<ClientIdentity>({ clientId, token }, 201);
  })
  .get('/:clientId', requireScope('read'), async (c) => {
    const clientId = clientIdParam(c);
    const info = await getClient(c.env.DB, clientId);
    if (!info) throw clientNotFound(clientId);
    return c.json<ClientInfo>(info);
  })
  .post('/:clientId/revoke', requireScope('admin'), async (c) => {
    const clientId = clientIdParam(c);
    if (!(await revokeClient(c.env.DB, clientId, Date.now()))) throw clientNotFound(clientId);
    const info = await getClient(c.env.DB, clientId);
    if (!info) throw clientNotFound(clientId);
    return c.json<ClientInfo>(info);
  });
