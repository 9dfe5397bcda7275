import { clientHeaders, registerClient } from './identity.ts';

/** Events per second the local edge ingests through `POST /v1/events`, 100 events a batch. */
export async function benchIngest(
  url: string,
  clientKey: string,
  batches = 50,
): Promise<{ events: number; seconds: number; perSecond: number }> {
  const identity = await registerClient(url, clientKey);
  const { clientId } = identity;
  let seq = 0;
  const makeBatch = (b: number) => ({
    v: 1,
    clientId,
    batchId: `b${b}`,
    events: Array.from({ length: 100 }, () => {
      const id = crypto.randomUUID();
      seq += 1;
      return {
        id,
        seq,
        type: 'prediction',
        ts: Date.now(),
        model: 'digits',
        version: 1,
        predictionId: id,
        outputs: [0.1, 0.9],
      };
    }),
  });
  const bodies = Array.from({ length: batches }, (_, b) => JSON.stringify(makeBatch(b)));
  const started = performance.now();
  for (const body of bodies) {
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: clientHeaders(clientKey, identity),
      body,
    });
    const result = (await res.json()) as { accepted?: number };
    if (!res.ok || result.accepted !== 100)
      throw new Error(`ingest failed: HTTP ${res.status} ${JSON.stringify(result)}`);
  }
  const seconds = (performance.now() - started) / 1000;
  return { events: batches * 100, seconds, perSecond: (batches * 100) / seconds };
}
