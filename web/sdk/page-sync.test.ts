import { describe, expect, it } from 'vitest';
import { registerBackgroundSync, watchPageHide } from './page-sync.ts';

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

  it('registers Background Sync only where a service worker offers it, and says why not', async () => {
    expect(await registerBackgroundSync()).toEqual({
      registered: false,
      reason: 'no ServiceWorker API in this runtime',
    });
    const tags: string[] = [];
    const ok = await registerBackgroundSync(async () => ({
      available: true,
      register: async (tag) => void tags.push(tag),
    }));
    expect(ok).toEqual({ registered: true });
    expect(tags).toEqual(['edgeloop-sync']);
  });
});
