import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { Event, EventBatch } from './events.ts';
import { AliasName, ClientId } from './names.ts';

const id = '3b241101-e2bb-4255-8caf-4136c566a962';
const prediction = {
  id,
  seq: 1,
  type: 'prediction',
  ts: 1764331200000,
  model: 'digits',
  version: 1,
  predictionId: id,
  outputs: [0.1, 0.9],
};

describe('event schemas', () => {
  it('accepts the contract example and refuses a prediction whose predictionId is not its id', () => {
    expect(v.safeParse(Event, prediction).success).toBe(true);
    const other = { ...prediction, predictionId: '9b241101-e2bb-4255-8caf-4136c566a962' };
    const result = v.safeParse(Event, other);
    expect(result.success).toBe(false);
    expect(result.issues?.[0]?.message).toMatch(/predictionId/);
  });

  it('refuses NaN and Infinity outputs, unknown fields and a bad seq', () => {
    expect(v.safeParse(Event, { ...prediction, outputs: [Number.NaN] }).success).toBe(false);
    expect(v.safeParse(Event, { ...prediction, outputs: [Number.POSITIVE_INFINITY] }).success).toBe(false);
    expect(v.safeParse(Event, { ...prediction, extra: 1 }).success).toBe(false);
    expect(v.safeParse(Event, { ...prediction, seq: 0 }).success).toBe(false);
  });

  it('checks the batch envelope: version, client id and size', () => {
    const batch = { v: 1, clientId: 'c_abcdefgh', batchId: 'b1', events: [prediction] };
    expect(v.safeParse(EventBatch, batch).success).toBe(true);
    expect(v.safeParse(EventBatch, { ...batch, v: 2 }).success).toBe(false);
    expect(v.safeParse(EventBatch, { ...batch, clientId: 'short' }).success).toBe(false);
    expect(v.safeParse(EventBatch, { ...batch, events: [] }).success).toBe(false);
  });
});

describe('names', () => {
  it('reserves latest and v<number> as alias names, as MLflow does', () => {
    expect(v.safeParse(AliasName, 'production').success).toBe(true);
    expect(v.safeParse(AliasName, 'latest').success).toBe(false);
    expect(v.safeParse(AliasName, 'v12').success).toBe(false);
    expect(v.safeParse(AliasName, 'a b').success).toBe(false);
  });

  it('limits client ids to 8–64 URL-safe characters', () => {
    expect(v.safeParse(ClientId, 'c_3f9a0000').success).toBe(true);
    expect(v.safeParse(ClientId, 'c_3f9a/000').success).toBe(false);
    expect(v.safeParse(ClientId, 'x'.repeat(65)).success).toBe(false);
  });
});
