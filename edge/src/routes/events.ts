import { Hono } from 'hono';
import * as v from 'valibot';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Event, EventBatch, type EventBatchResult } from '../../../protocol/events.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { describeIssues } from '../http/issues.ts';
import { readJson } from '../http/read-body.ts';
import { insertEvents } from '../storage/events.ts';

/** Largest events body, after gzip decoding (500 events with room for big outputs). */
export const MAX_EVENTS_BYTES = 5 * 1024 * 1024;

async function readBatch(request: Request): Promise<EventBatch> {
  const batch = v.safeParse(EventBatch, await readJson(request, MAX_EVENTS_BYTES, 'events'));
  if (!batch.success) throw new ApiError(400, ErrorCode.INVALID_BODY, describeIssues(batch.issues));
  return batch.output;
}

/**
 * `POST /v1/events`: an idempotent batch. A malformed batch is refused whole (nothing
 * written); otherwise each event is checked on its own, bad ones are reported by index and
 * the rest applied once, however often the batch is retried.
 */
export const events = new Hono<AppEnv>().post('/', requireScope('client'), async (c) => {
  const batch = await readBatch(c.req.raw);
  const valid: Event[] = [];
  const rejected: EventBatchResult['rejected'] = [];
  batch.events.forEach((candidate, index) => {
    const result = v.safeParse(Event, candidate);
    if (result.success) valid.push(result.output);
    else rejected.push({ index, code: ErrorCode.INVALID_EVENT, message: describeIssues(result.issues) });
  });
  const { accepted, duplicates } = await insertEvents(c.env.DB, {
    clientId: batch.clientId,
    batchId: batch.batchId,
    events: valid,
    now: Date.now(),
  });
  return c.json<EventBatchResult>({ accepted, duplicates, rejected });
});
