import * as v from 'valibot';
import { SyncBroadcast, type SyncState, syncTopic } from '../../protocol/worker-api.ts';
import type { SyncPlatform } from '../env.ts';
import { LEASE_MS } from './lock.ts';

/**
 * A sync's progress, shared with the other contexts of its database (tabs, their pages, the
 * service worker) on the database's BroadcastChannel: this context's own sync while it runs,
 * else the latest live sync another context reported. A report not followed by another within
 * LEASE_MS is taken for a context that died mid-sync and no longer shown.
 *
 * @example
 * const progress = new SyncProgress(platform, 'edgeloop', tabId, Date.now);
 * progress.started(250);
 * progress.batch(100); // others now show { sent: 100, total: 250, by: 'other-tab' }
 * progress.ended(null);
 */
export class SyncProgress {
  readonly #channel: BroadcastChannel | null;
  readonly #from: string;
  readonly #now: () => number;
  #own: { sent: number; total: number } | null = null;
  #peer: { report: SyncBroadcast; receivedAt: number } | null = null;

  constructor(platform: Pick<SyncPlatform, 'broadcast'>, dbName: string, from: string, now: () => number) {
    this.#from = from;
    this.#now = now;
    this.#channel = platform.broadcast?.(syncTopic(dbName)) ?? null;
    this.#channel?.addEventListener('message', ({ data }) => {
      const parsed = v.safeParse(SyncBroadcast, data);
      if (parsed.success && parsed.output.from !== from) this.#peer = { report: parsed.output, receivedAt: now() };
    });
  }

  started(total: number): void {
    this.#own = { sent: 0, total };
    this.#post('started');
  }

  /** `count` more events were acknowledged. */
  batch(count: number): void {
    if (!this.#own) return;
    this.#own.sent += count;
    this.#post('batch');
  }

  /** The sync ended: `failure` is null on success, else whether it will be retried. */
  ended(failure: { retryable: boolean } | null): void {
    this.#post(failure ? 'failed' : 'done', failure?.retryable);
    this.#own = null;
  }

  view(): SyncState['progress'] {
    if (this.#own) return { ...this.#own, by: 'this-tab' };
    const peer = this.#peer;
    if (!peer || (peer.report.phase !== 'started' && peer.report.phase !== 'batch')) return undefined;
    if (this.#now() - peer.receivedAt > LEASE_MS) return undefined;
    return { sent: peer.report.sent, total: peer.report.total, by: 'other-tab' };
  }

  close(): void {
    this.#channel?.close();
  }

  #post(phase: SyncBroadcast['phase'], retryable?: boolean): void {
    const own = this.#own ?? { sent: 0, total: 0 };
    const report: SyncBroadcast = {
      v: 1,
      from: this.#from,
      phase,
      sent: own.sent,
      total: own.total,
      ...(retryable === undefined ? {} : { retryable }),
      at: this.#now(),
    };
    this.#channel?.postMessage(report);
  }
}
