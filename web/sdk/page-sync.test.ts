import { describe, expect, it } from 'vitest';
import { handFailuresToBackgroundSync, watchPageHide } from './page-sync.ts';

describe('page sync triggers', () => {
  it('asks for a sync on visibilitychange to hidden and on pagehide, until stopped', () => {
    const document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    const window = new EventTarget();
    const asked: string[] = [];
    const stop = watchPageHide({ document, window }, (trigger) => asked.push(trigger));
    document.dispatchEvent(new Event('visibilitychange'));
    document.visibilityState = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new Event('pagehide'));
    stop();
    window.dispatchEvent(new Event('pagehide'));
    expect(asked).toEqual(['pagehide', 'pagehide']);
  });

  it('says why Background Sync is not available', async () => {
    expect((await handFailuresToBackgroundSync('db0')).state).toEqual({
      available: false,
      reason: 'no ServiceWorker API in this runtime',
    });
    const detect = async () => ({ available: true as const, register: async () => undefined });
    expect((await handFailuresToBackgroundSync('db0', { detect, broadcast: null })).state).toEqual({
      available: false,
      reason: 'no BroadcastChannel in this runtime',
    });
  });

  it('registers the database topic when a sync fails and will be retried, and only then', async () => {
    const tags: string[] = [];
    let registered: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      registered = resolve;
    });
    const detect = async () => ({
      available: true as const,
      register: async (tag: string) => {
        tags.push(tag);
        registered();
      },
    });
    const open = (name: string) => new BroadcastChannel(name);
    const { state, stop } = await handFailuresToBackgroundSync('db1', { detect, broadcast: open });
    expect(state).toEqual({ available: true });
    const worker = new BroadcastChannel('edgeloop-sync:db1');
    const report = { v: 1, from: 'tab-a', sent: 0, total: 3, at: 1 };
    // Delivered in order: none of these registers; the last one does.
    worker.postMessage({ ...report, phase: 'failed', retryable: false });
    worker.postMessage({ ...report, phase: 'done' });
    worker.postMessage({ junk: true });
    worker.postMessage({ ...report, phase: 'failed', retryable: true });
    await done;
    expect(tags).toEqual(['edgeloop-sync:db1']);
    stop();
    worker.close();
  });
});
