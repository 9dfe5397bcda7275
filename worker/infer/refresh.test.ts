import { describe, expect, it } from 'vitest';
import { FakeEdge } from '../test/fake-edge.ts';
import { pixels, publishTinyModel, startWorker } from '../test/harness.ts';

const downloads = (edge: FakeEdge) => edge.requests.filter((r) => r.path.includes('/files/')).length;

describe('refresh', () => {
  it('keeps the model when the alias is unchanged and swaps in a new version when it moved', async () => {
    const edge = new FakeEdge();
    await publishTinyModel(edge, 1);
    const { api } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    const before = downloads(edge);
    expect(await api.refresh()).toMatchObject({ changed: false, version: 1, checkedBy: 'version' });
    expect(downloads(edge)).toBe(before);

    await publishTinyModel(edge, 2); // moves production to v2
    const [during, refreshed] = await Promise.all([api.predict(pixels(1)), api.refresh()]);
    expect(during.version).toBe(1); // queued before the refresh: the old model served it
    expect(refreshed).toMatchObject({ changed: true, version: 2, load: { version: 2 } });
    expect((await api.predict(pixels(2))).version).toBe(2);
    expect((await api.status()).model).toMatchObject({ version: 2 });
    await api.dispose();
  });

  it('uses If-None-Match when the edge sends an ETag on resolve', async () => {
    const edge = new FakeEdge();
    edge.resolveEtags = true;
    await publishTinyModel(edge, 1);
    const { api } = await startWorker({ edge });
    await api.load({ v: 1, model: 'digits' });
    expect(await api.refresh()).toMatchObject({ changed: false, checkedBy: 'etag' });
    await publishTinyModel(edge, 2);
    expect(await api.refresh()).toMatchObject({ changed: true, version: 2 });
    await api.dispose();
  });

  it('is MODEL_NOT_LOADED before load', async () => {
    const { api } = await startWorker();
    await expect(api.refresh()).rejects.toMatchObject({ code: 'MODEL_NOT_LOADED' });
    await api.dispose();
  });
});
