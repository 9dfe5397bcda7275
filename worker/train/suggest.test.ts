import { describe, expect, it } from 'vitest';
import { pixels, startLoadedWorker } from '../test/harness.ts';

function margin(outputs: number[]): number {
  const [first = 0, second = 0] = [...outputs].sort((a, b) => b - a);
  return first - second;
}

function entropy(outputs: number[]): number {
  return -outputs.reduce((sum, p) => (p > 0 ? sum + p * Math.log(p) : sum), 0);
}

describe('suggest', () => {
  it('returns the unlabelled predictions the model is least sure of, by margin or entropy, with their inputs', async () => {
    const { api } = await startLoadedWorker();
    const made = [];
    for (let seed = 0; seed < 12; seed++) made.push(await api.predict(pixels(seed)));
    const labelled = made.slice(0, 3);
    for (const p of labelled) await api.feedback(p.predictionId, 1);
    const open = made.slice(3);

    const byMargin = await api.suggest({ v: 1, k: 4 });
    expect(byMargin).toMatchObject({ v: 1, by: 'margin', scanned: 9 });
    const expected = [...open].sort((a, b) => margin(a.outputs) - margin(b.outputs)).slice(0, 4);
    expect(byMargin.suggestions.map((s) => s.predictionId)).toEqual(expected.map((p) => p.predictionId));
    for (const s of byMargin.suggestions) {
      const original = open.find((p) => p.predictionId === s.predictionId);
      expect(s.outputs.map((x) => x.toFixed(5))).toEqual(original?.outputs.map((x) => x.toFixed(5)));
      expect(s.margin).toBeCloseTo(margin(s.outputs), 9);
      expect(s.label).toBe(original?.label);
      expect(s.input).toEqual(pixels(made.indexOf(original as (typeof made)[number])));
    }

    const byEntropy = await api.suggest({ v: 1, k: 2, by: 'entropy' });
    const unsure = [...open].sort((a, b) => entropy(b.outputs) - entropy(a.outputs));
    expect(byEntropy.suggestions.map((s) => s.predictionId)).toEqual(unsure.slice(0, 2).map((p) => p.predictionId));
    // Only the most recent `scan` unlabelled predictions are looked at.
    expect((await api.suggest({ v: 1, scan: 5 })).scanned).toBe(5);
    await api.dispose();
  });

  it('refuses bad options with INVALID_INPUT', async () => {
    const { api } = await startLoadedWorker();
    await expect(api.suggest({ v: 1, k: 0 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(api.suggest({ v: 1, by: 'luck' as 'margin' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await api.dispose();
  });
});
