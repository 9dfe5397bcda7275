import { Hono } from 'hono';
import * as v from 'valibot';
import { ErrorCode } from '../../../protocol/errors.ts';
import { Event, EventBatch, type EventBatchResult, eventTsProblem } from '../../../protocol/events.ts';
import type { AppEnv } from '../app-env.ts';
import { requireClientToken } from '../auth/client-token.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { describeIssues } from '../http/issues.ts';
import { rateLimit } from '../http/rate-limit.ts';
import { readJson } from '../http/read-body.ts';
import { type InsertOutcome, insertEvents, type SeqItem } from '../storage/events.ts';
import { clientRefusal } from './client-refusal.ts';

/** Largest events body, after gzip decoding (500 events with room for big outputs). */
export const MAX_EVENTS_BYTES = 5 * 1024 * 1024;

async function readBatch(request: Request): Promise<EventBatch> {
  const batch = v.safeParse(EventBatch, await readJson(request, MAX_EVENTS_BYTES, 'events'));
  if (!batch.success) throw new ApiError(400, ErrorCode.INVALID_BODY, describeIssues(batch.issues));
  return batch.output;
}

// Even an invalid event must say where it sits in the client's order, else the gap check
// could never move past it.
const ReadableSeq = v.object({ seq: v.pipe(v.number(), v.safeInteger(), v.minValue(1)) });

const invalidBody = (message: string) => new ApiError(400, ErrorCode.INVALID_BODY, message);

/** Why `candidate` is not a valid event at `now` (schema, then time range), or null with the event. */
function checkEvent(candidate: unknown, now: number): { event: Event; problem: null } | { problem: string } {
  const result = v.safeParse(Event, candidate);
  if (!result.success) return { problem: describeIssues(result.issues) };
  const problem = eventTsProblem(result.output.ts, now);
  return problem ? { problem: `ts: ${problem}` } : { event: result.output, problem: null };
}

/** Each event as stored (valid or only consuming its seq), and the rejections by index. */
function classify(
  candidates: readonly unknown[],
  now: number,
): { items: SeqItem[]; rejected: EventBatchResult['rejected'] } {
  const items: SeqItem[] = [];
  const rejected: EventBatchResult['rejected'] = [];
  const seqs = new Set<number>();
  const ids = new Set<string>();
  candidates.forEach((candidate, index) => {
    const readable = v.safeParse(ReadableSeq, candidate);
    if (!readable.success) throw invalidBody(`events.${index}.seq must be a positive integer`);
    const { seq } = readable.output;
    if (seqs.has(seq)) throw invalidBody(`events.${index}.seq ${seq} appears twice in the batch`);
    seqs.add(seq);
    const checked = checkEvent(candidate, now);
    if (checked.problem !== null) {
      rejected.push({ index, code: ErrorCode.INVALID_EVENT, message: checked.problem });
      items.push({ seq, id: null, payload: JSON.stringify(candidate), code: ErrorCode.INVALID_EVENT });
      return;
    }
    const { event } = checked;
    if (ids.has(event.id)) throw invalidBody(`events.${index}.id appears twice in the batch`);
    ids.add(event.id);
    items.push({ seq, id: event.id, payload: JSON.stringify(event) });
  });
  return { items, rejected };
}

function refusal(outcome: Exclude<InsertOutcome, { status: 'applied' }>, clientId: string): ApiError {
  switch (outcome.status) {
    case 'gap':
      return new ApiError(
        409,
        ErrorCode.SEQ_GAP,
        `events of client "${clientId}" must continue at seq ${outcome.expectedSeq}; nothing was applied`,
      );
    case 'conflict':
      return new ApiError(
        409,
        ErrorCode.CONFLICT,
        'the batch replays an applied seq or event id with altered content; nothing was applied',
      );
    default:
      return clientRefusal(outcome.status, clientId);
  }
}

/**
 * `POST /v1/events`: an idempotent batch of one client, with its token. A malformed batch is
 * refused whole (nothing written); otherwise each event is checked on its own, bad ones are
 * reported by index (their seq consumed) and the rest applied once, in seq order, however
 * often the batch is retried. A gap, an altered replay or a revoked client write nothing.
 */
export const events = new Hono<AppEnv>().post('/', requireScope('client'), rateLimit(), async (c) => {
  const batch = await readBatch(c.req.raw);
  await requireClientToken(c, batch.clientId);
  const now = Date.now();
  const { items, rejected } = classify(batch.events, now);
  const outcome = await insertEvents(c.env.DB, { clientId: batch.clientId, batchId: batch.batchId, items, now });
  if (outcome.status !== 'applied') throw refusal(outcome, batch.clientId);
  return c.json<EventBatchResult>({ accepted: outcome.accepted, duplicates: outcome.duplicates, rejected });
});
