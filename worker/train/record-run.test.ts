import { describe, expect, it, vi } from 'vitest';
import { rotateQuarter } from '../../models/digits/user-style.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import { EdgeClient } from '../edge-client.ts';
import { holdoutDigits, publishDigits } from '../test/digits.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { ENDPOINT, pixels, startWorker } from '../test/harness.ts';
import { RunRecorder } from './record-run.ts';

/** The digits model on wasm with 8 labelled predictions, ready to train. */
async function readyToTrain(edge = new FakeEdge()) {
  await publishDigits(edge);
  const worker = await startWorker({ edge, backend: 'wasm' });
  await worker.api.load({ v: 1, model: 'digits' });
  const digits = holdoutDigits();
  for (let i = 0; i < 8; i++) {
    const { predictionId } = await worker.api.predict(rotateQuarter(digits.images[i] ?? pixels()));
    await worker.api.feedback(predictionId, digits.labels[i] ?? 0);
  }
  return worker;
}

const outcome = {
  holdoutBefore: 0.9,
  holdoutAfter: 0.91,
  feedbackBefore: 0.1,
  feedbackAfter: 0.8,
  durationMs: 1234.5,
  backend: 'cpu' as const,
  applied: true,
};

describe('training records a run', () => {
  it('creates a run with params and tags, posts per-epoch loss and final metrics, and ends it finished', async () => {
    const { api, edge, clientId } = await readyToTrain();
    const result = await api.train({ v: 1, epochs: 3, replayRatio: 2, learningRate: 0.002 });

    expect(result.runError).toBeUndefined();
    const stored = edge.runs.runs.get(result.runId ?? '');
    expect(stored?.run).toMatchObject({
      model: 'digits',
      name: `fine-tune digits v1 on ${clientId}`,
      parentVersion: 1,
      status: 'finished',
      params: {
        epochs: 3,
        replayRatio: 2,
        learningRate: 0.002,
        backend: 'wasm',
        examples: 8,
        replayExamples: result.replayExamples,
      },
      tags: { client: clientId, kind: 'on-device-fine-tune', trained_backend: 'wasm', applied: String(result.applied) },
    });
    const points = stored?.points ?? [];
    const losses = points.filter((p) => p.key === 'loss');
    expect(losses.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(losses.every((p) => Number.isFinite(p.value) && p.value > 0)).toBe(true);
    const final = Object.fromEntries(points.filter((p) => p.key !== 'loss').map((p) => [p.key, p.value]));
    expect(final).toEqual({
      holdout_accuracy_before: result.holdoutBefore,
      holdout_accuracy_after: result.holdoutAfter,
      feedback_accuracy_before: result.feedbackBefore,
      feedback_accuracy_after: result.feedbackAfter,
      duration_ms: Math.round(result.durationMs),
    });
    // Epoch losses go out together at the end: one metrics request, not one per epoch.
    expect(edge.count('/v1/runs/', 'POST')).toBe(1);
    expect(edge.count('/v1/runs/', 'PATCH')).toBe(1);
    await api.dispose();
  });

  it('still trains when the edge refuses or cannot be reached, and says why the run was not recorded', async () => {
    for (const failure of ['network', 500] as const) {
      const edge = new FakeEdge();
      edge.runs.failure = failure;
      const { api } = await readyToTrain(edge);
      const result = await api.train({ v: 1, epochs: 1, replayRatio: 1 });

      expect(result).toMatchObject({ examples: 8, epochs: 1, localFineTune: true });
      expect(result.runId).toBeUndefined();
      expect(result.runError).toMatch(failure === 'network' ? /run not recorded: .*NETWORK/ : /HTTP 500 INTERNAL/);
      expect(edge.runs.runs.size).toBe(0);
      await api.dispose();
    }
  });

  it('ends the run failed and rethrows the training error when training throws', async () => {
    // A corrupted held-out set: the preparation after the first label fails quietly, and the
    // training, which fetches it again after the run is created, throws.
    const tampered = new FakeEdge();
    tampered.tampered.set('holdout.safetensors', new Uint8Array(785));
    const { api, edge } = await readyToTrain(tampered);
    const error = await api.train({ v: 1, epochs: 1, replayRatio: 1 }).catch((e: unknown) => EdgeloopError.from(e));
    expect(error).toMatchObject({ code: 'DIGEST_MISMATCH' });
    const [stored] = edge.runs.runs.values();
    expect(stored?.run.status).toBe('failed');
    expect(stored?.run.tags.error).toContain('DIGEST_MISMATCH');
    await api.dispose();
  });
});

describe('RunRecorder', () => {
  it('gives up on an edge that never replies instead of holding the training', async () => {
    const edge = new FakeEdge();
    edge.runs.failure = 'hang';
    const client = new EdgeClient(ENDPOINT, edge.key, edge.fetch);
    const recorder = new RunRecorder(client, { model: 'digits', version: 1, clientId: 'client-1', params: {} }, 50);
    recorder.epoch(1, 0.5);
    const started = performance.now();
    const record = await recorder.finish(outcome);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(record).toEqual({ runError: expect.stringMatching(/no reply within 50 ms/) });
  });

  it('keeps the run id and reports the failure when the run was created but a later call fails', async () => {
    const edge = new FakeEdge();
    const client = new EdgeClient(ENDPOINT, edge.key, edge.fetch);
    client.token = 'client-1.mac'; // a device's runs carry its token, as every write does
    const recorder = new RunRecorder(client, { model: 'digits', version: 1, clientId: 'client-1', params: {} });
    recorder.epoch(1, Number.NaN);
    recorder.epoch(2, 0.25);
    // Once the fake edge holds the run, the create call is past it; then the edge starts failing.
    await vi.waitFor(() => expect(edge.runs.runs.size).toBe(1));
    edge.runs.failure = 500;
    const record = await recorder.finish(outcome);
    const [runId] = edge.runs.runs.keys();
    expect(record).toEqual({ runId, runError: expect.stringMatching(/not fully recorded: .*HTTP 500/) });
    edge.runs.failure = null;
    // A diverged (NaN) loss is left out rather than making the edge refuse the whole request.
    const again = new RunRecorder(client, { model: 'digits', version: 1, clientId: 'client-1', params: {} });
    again.epoch(1, Number.NaN);
    again.epoch(2, 0.25);
    const ok = await again.finish(outcome);
    expect(ok.runError).toBeUndefined();
    const points = edge.runs.runs.get(ok.runId ?? '')?.points ?? [];
    expect(points.filter((p) => p.key === 'loss')).toEqual([
      { key: 'loss', value: 0.25, step: 2, ts: expect.any(Number) },
    ]);
  });
});
