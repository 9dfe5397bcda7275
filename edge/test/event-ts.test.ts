import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_TS_AHEAD_MS, MIN_EVENT_TS } from '../../protocol/events.ts';
import { count, registerClient, sendEvents } from './helpers.ts';

// An event's `ts` is bounded per event: from 2020-01-01 (MIN_EVENT_TS) to a day ahead of the
// edge's clock (MAX_EVENT_TS_AHEAD_MS). `1e300` was once stored as an event time.

const HOUR = 60 * 60 * 1000;

function prediction(seq: number, ts: number) {
  const id = crypto.randomUUID();
  return { id, seq, type: 'prediction', ts, model: 'digits', version: 1, predictionId: id, outputs: [0.2, 0.8] };
}

type Result = { accepted: number; duplicates: number; rejected: { index: number; code: string; message: string }[] };

describe('POST /v1/events bounds each event time', () => {
  it('rejects out-of-range ts by index with INVALID_EVENT and applies the rest of the batch', async () => {
    const client = await registerClient();
    const now = Date.now();
    const times = [now, 1e300, 0, MIN_EVENT_TS - 1, now + MAX_EVENT_TS_AHEAD_MS + HOUR, now - HOUR];
    const res = await sendEvents(
      client,
      times.map((ts, i) => prediction(i + 1, ts)),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Result;
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'INVALID_EVENT'],
      [2, 'INVALID_EVENT'],
      [3, 'INVALID_EVENT'],
      [4, 'INVALID_EVENT'],
    ]);
    const [huge, zero, early, late] = body.rejected.map((r) => r.message);
    for (const message of [huge, zero, early, late]) expect(message).toMatch(/^ts: /);
    expect(huge).toContain('safe integer');
    expect(zero).toBe(`ts: 0 is before 2020-01-01T00:00:00Z (MIN_EVENT_TS ${MIN_EVENT_TS})`);
    expect(early).toContain('before 2020-01-01');
    expect(late).toContain("more than a day (MAX_EVENT_TS_AHEAD_MS) ahead of the edge's clock");

    // The two valid events are stored with their times; the rest only consumed their seqs.
    const { results } = await env.DB.prepare('SELECT seq, ts FROM events WHERE client_id = ? ORDER BY seq')
      .bind(client.clientId)
      .all<{ seq: number; ts: number }>();
    expect(results).toEqual([
      { seq: 1, ts: now },
      { seq: 6, ts: now - HOUR },
    ]);
    expect(await count('rejected_events', 'client_id = ?', client.clientId)).toBe(4);
    const row = await env.DB.prepare('SELECT max_seq FROM clients WHERE client_id = ?').bind(client.clientId).first();
    expect(row).toEqual({ max_seq: 6 });
  });

  it('takes times at both ends of the range: 2020-01-01 and less than a day ahead', async () => {
    const client = await registerClient();
    const ahead = Date.now() + MAX_EVENT_TS_AHEAD_MS - HOUR;
    const res = await sendEvents(client, [prediction(1, MIN_EVENT_TS), prediction(2, ahead)]);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
  });
});
