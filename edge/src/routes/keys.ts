import { sValidator } from '@hono/standard-validator';
import { Hono } from 'hono';
import { ErrorCode } from '../../../protocol/errors.ts';
import { type CreatedKey, CreateKey, type KeyInfo, type KeyList } from '../../../protocol/keys.ts';
import type { AppEnv } from '../app-env.ts';
import { forgetCheckedKeys, hashKey } from '../auth/authenticate.ts';
import { generateKey } from '../auth/generate-key.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { limitBody, MAX_SMALL_BODY_BYTES } from '../http/body-limit.ts';
import { rejectInvalid, strictJson } from '../http/validate.ts';
import { insertKey, listKeys, revokeKey } from '../storage/api-keys.ts';

/** Key management (`/v1/keys`), admin only. A key is shown once, when it is created. */
export const keys = new Hono<AppEnv>()
  .use(requireScope('admin'))
  .post('/', limitBody(MAX_SMALL_BODY_BYTES), strictJson, sValidator('json', CreateKey, rejectInvalid), async (c) => {
    const { name, scopes } = c.req.valid('json');
    const { id, key } = generateKey();
    await insertKey(c.env.DB, { id, name, scopes, hash: await hashKey(key), createdAt: Date.now() });
    return c.json<CreatedKey>({ id, name, key, scopes }, 201);
  })
  .get('/', async (c) => c.json<KeyList>({ keys: await listKeys(c.env.DB) }))
  .post('/:id/revoke', async (c) => {
    const id = c.req.param('id');
    const key = await revokeKey(c.env.DB, id, Date.now());
    if (!key) throw new ApiError(404, ErrorCode.NOT_FOUND, `no API key with id "${id}"`);
    forgetCheckedKeys();
    return c.json<KeyInfo>(key);
  });
