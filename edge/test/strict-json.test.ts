import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, api, bytes, count, expectError, manifest, publishAliased } from './helpers.ts';

// Found by the hostile-input suite: JSON bodies of validator routes must be UTF-8 and objects,
// and records must not take arrays (valibot reads [] as {}).
const put = (path: string, body: BodyInit) =>
  api(path, { method: 'PUT', key: ADMIN_KEY, headers: { 'Content-Type': 'application/json' }, body });
const post = (path: string, body: BodyInit) =>
  api(path, { method: 'POST', key: ADMIN_KEY, headers: { 'Content-Type': 'application/json' }, body });

describe('strict JSON bodies', () => {
  it('refuses bytes that are not UTF-8 instead of storing U+FFFD, moving nothing', async () => {
    await publishAliased('strict-utf8');
    const before = await (await api('/v1/models/strict-utf8/aliases/production', { key: ADMIN_KEY })).json();
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"version":1,"reason":"'),
      0xc3,
      ...new TextEncoder().encode('x"}'),
    ]);
    const res = await put('/v1/models/strict-utf8/aliases/production', bytes);
    expect(await expectError(res, 400, 'INVALID_BODY')).toContain('UTF-8');
    const after = await (await api('/v1/models/strict-utf8/aliases/production', { key: ADMIN_KEY })).json();
    expect(after).toEqual(before);
  });

  it('refuses a JSON array as a rollout instead of clearing the rollout', async () => {
    await publishAliased('strict-array');
    const res = await put('/v1/models/strict-array/aliases/production/rollout', '[]');
    expect(await expectError(res, 400, 'INVALID_BODY')).toContain('JSON object');
    const info = (await (await api('/v1/models/strict-array/aliases/production', { key: ADMIN_KEY })).json()) as {
      history: unknown[];
    };
    expect(info.history).toHaveLength(1);
  });

  it('refuses arrays where a run takes params or tags', async () => {
    await publishAliased('strict-runs');
    for (const field of ['params', 'tags']) {
      const body = { v: 1, model: 'strict-runs', name: 'r', [field]: [] };
      const res = await post('/v1/runs', JSON.stringify(body));
      expect(await expectError(res, 400, 'INVALID_BODY')).toContain(field);
    }
    const list = (await (await api('/v1/runs?model=strict-runs', { key: ADMIN_KEY })).json()) as { runs: unknown[] };
    expect(list.runs).toEqual([]);
  });

  it('refuses a manifest whose bytes are not UTF-8, as a text field or as a file, storing nothing', async () => {
    const text = JSON.stringify({ ...manifest('strict-manifest', ['model.json']), description: 'é' });
    const [head, tail] = text.split('é') as [string, string];
    const broken = new Uint8Array([...bytes(head), 0xc3, ...bytes(tail)]);
    for (const filename of [undefined, 'manifest.json']) {
      const boundary = 'strictB';
      const disposition = (name: string, file?: string) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"` : ''}\r\n\r\n`;
      const body = new Uint8Array([
        ...bytes(disposition('manifest', filename)),
        ...broken,
        ...bytes(`\r\n${disposition('model.json', 'model.json')}{}\r\n--${boundary}--\r\n`),
      ]);
      const res = await api('/v1/models/strict-manifest/versions', {
        method: 'POST',
        key: ADMIN_KEY,
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
        body,
      });
      expect(await expectError(res, 400, 'INVALID_MANIFEST')).toContain('UTF-8');
    }
    expect(await count('versions', 'model = ?', 'strict-manifest')).toBe(0);
  });
});
