import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, count, expectError, publishAliased, sendJson } from './helpers.ts';

// The small JSON writes refuse oversized bodies with 413 before reading them, writing nothing.
describe('body limits of the small JSON writes', () => {
  it('refuses 100 KiB bodies to alias moves, rollouts and key creation with 413', async () => {
    await publishAliased('limits');
    const huge = 'x'.repeat(100 * 1024);
    const before = [await count('alias_events'), await count('api_keys')];
    const requests = [
      sendJson('PUT', '/v1/models/limits/aliases/production', { version: 1, reason: huge }, ADMIN_KEY),
      sendJson('PUT', '/v1/models/limits/aliases/production/rollout', { reason: huge }, ADMIN_KEY),
      sendJson('POST', '/v1/keys', { name: huge, scopes: ['read'] }, ADMIN_KEY),
    ];
    for (const res of await Promise.all(requests)) {
      expect(await expectError(res, 413, 'PAYLOAD_TOO_LARGE')).toContain('65536 bytes');
    }
    expect([await count('alias_events'), await count('api_keys')]).toEqual(before);
  });

  it('still takes a long reason under the limit', async () => {
    await publishAliased('limits-ok');
    const res = await sendJson(
      'PUT',
      '/v1/models/limits-ok/aliases/production',
      { version: 1, reason: 'r'.repeat(900) },
      ADMIN_KEY,
    );
    expect(res.status).toBe(200);
  });
});
