/** Delivery attempts per alert before it is marked failed. */
export const MAX_WEBHOOK_ATTEMPTS = 5;
const BASE_DELAY_MS = 30_000;
const TIMEOUT_MS = 10_000;

/**
 * Wait before attempt `attempts + 1`, doubling from 30 s (30 s, 1 min, 2 min, 4 min).
 *
 * @example
 * retryDelay(1); // 30_000
 */
export const retryDelay = (attempts: number): number => BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1);

/**
 * POSTs a JSON alert to `url`; resolves to null on a 2xx answer, else to why it failed. Never
 * throws: the caller records the failure and retries.
 *
 * @example
 * const error = await postWebhook('https://hooks.example/drift', payloadJson);
 */
export async function postWebhook(url: string, body: string): Promise<string | null> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'edgeloop-drift' },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    // Free the connection; the answer's body carries nothing we use.
    await res.body?.cancel();
    return res.ok ? null : `HTTP ${res.status}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
