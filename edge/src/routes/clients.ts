import { Hono } from 'hono';
import * as v from 'valibot';
import { type ClientIdentity, ClientRegistration, type EraseReceipt } from '../../../protocol/clients.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { ClientInfo } from '../../../protocol/events.ts';
import type { AppEnv } from '../app-env.ts';
import { issueClientToken, newClientId, requireClientToken } from '../auth/client-token.ts';
import { requireScope } from '../auth/require-scope.ts';
import { grants } from '../auth/scopes.ts';
import { eraseClientDrift } from '../drift/erase.ts';
import { ApiError } from '../http/api-error.ts';
import { MAX_SMALL_BODY_BYTES } from '../http/body-limit.ts';
import { describeIssues } from '../http/issues.ts';
import { clientIdParam } from '../http/params.ts';
import { limitIssuance, rateLimit } from '../http/rate-limit.ts';
import { readJson } from '../http/read-body.ts';
import { insertClient, revokeClient } from '../storage/clients.ts';
import { beginErasure, finishErasure, receiptOf, recordDriftErased } from '../storage/erasure.ts';
import { getClient } from '../storage/events.ts';

const clientNotFound = (clientId: string) =>
  new ApiError(404, ErrorCode.CLIENT_NOT_FOUND, `no client "${clientId}" is registered or sent events`);

/**
 * Client identities under `/v1/clients`: registration (client key) issues an id and the token
 * every write of that client carries; admins revoke; readers see what the edge holds; the
 * client itself (its token) or an admin erases everything the edge holds of it.
 */
export const clients = new Hono<AppEnv>()
  .post('/', requireScope('client'), rateLimit(), limitIssuance(), async (c) => {
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
  })
  .post('/:clientId/erase', requireScope('client', 'admin'), rateLimit(), async (c) => {
    const clientId = clientIdParam(c);
    const by = grants(c.var.caller.scopes, 'admin') ? 'admin' : 'client';
    if (by === 'client') await requireClientToken(c, clientId);
    // Revoked first (in beginErasure), so nothing the client still sends lands while its data goes;
    // each step is recorded, so a repeated or interrupted request finishes the same erasure.
    const erasure = await beginErasure(c.env.DB, clientId, by, Date.now());
    if (!erasure) throw clientNotFound(clientId);
    if (erasure.erasedAt !== null) return c.json<EraseReceipt>(receiptOf(erasure));
    if (!erasure.drift) await recordDriftErased(c.env.DB, clientId, await eraseClientDrift(c.env, clientId));
    return c.json<EraseReceipt>(receiptOf(await finishErasure(c.env.DB, clientId, Date.now())));
  });
