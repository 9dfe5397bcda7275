import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { type InferenceSample, recordInference } from '../src/storage/inference-stats.ts';
import { api, makeKey } from './helpers.ts';

const FAMILIES = [
  ['edgeloop_inference_request_total', 'counter'],
  ['edgeloop_inference_queue_duration_ms', 'histogram'],
  ['edgeloop_inference_compute_duration_ms', 'histogram'],
  ['edgeloop_inference_cache_total', 'counter'],
] as const;

const BOUNDS = ['1', '2.5', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '+Inf'];

/** The inference section of /metrics, line by line. */
async function inferenceLines(): Promise<string[]> {
  const reader = await makeKey('read');
  const res = await api('/metrics', { key: reader.key });
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n')
    .filter((line) => line.replace(/^# (HELP|TYPE) /, '').startsWith('edgeloop_inference_'));
}

const ok = (model: string, version: number, queueMs: number, computeMs: number, cache: InferenceSample['cache']) =>
  ({ model, version, runtime: 'tfjs', status: 200, queueMs, computeMs, cache }) satisfies InferenceSample;

/** A histogram's `_bucket` lines for `labels`, from the cumulative counts of BOUNDS. */
const buckets = (name: string, labels: string, counts: number[]) =>
  BOUNDS.map((le, i) => `${name}_bucket{${labels},le="${le}"} ${counts[i]}`);

describe('inference metrics', () => {
  // First: storage is shared by the tests of this file, and nothing is recorded yet.
  it('shows only HELP and TYPE lines before any request', async () => {
    const lines = await inferenceLines();
    expect(lines.filter((line) => !line.startsWith('#'))).toEqual([]);
    for (const [name, type] of FAMILIES) {
      expect(lines).toContain(`# TYPE ${name} ${type}`);
      expect(lines.some((line) => line.startsWith(`# HELP ${name} `))).toBe(true);
    }
  });

  it('counts requests by status and cache result, and histograms the successful ones', async () => {
    for (const s of [
      ok('im-a', 1, 0.5, 3, 'hit'),
      ok('im-a', 1, 1, 7, 'miss'),
      ok('im-a', 1, 30, 20_000, 'hit'),
      { ...ok('im-a', 1, 2, 0, null), status: 400 },
      { ...ok('im-a', 1, 4, 6, 'hit'), status: 500 },
      { ...ok('im-a', 2, 2.5, 0.25, 'miss'), runtime: 'onnx' },
    ] satisfies InferenceSample[]) {
      await recordInference(env.DB, s);
    }
    const lines = await inferenceLines();
    const v1 = 'model="im-a",version="1",runtime="tfjs"';
    const v2 = 'model="im-a",version="2",runtime="onnx"';
    const q = 'edgeloop_inference_queue_duration_ms';
    const c = 'edgeloop_inference_compute_duration_ms';
    const expected = [
      `edgeloop_inference_request_total{${v1},status="200"} 3`,
      `edgeloop_inference_request_total{${v1},status="400"} 1`,
      `edgeloop_inference_request_total{${v1},status="500"} 1`,
      `edgeloop_inference_request_total{${v2},status="200"} 1`,
      // 0.5 and 1 (a bound is its own bucket's) and 30: the 400 and the 500 are not observed.
      ...buckets(q, v1, [2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3]),
      `${q}_sum{${v1}} 31.5`,
      `${q}_count{${v1}} 3`,
      ...buckets(q, v2, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
      `${q}_sum{${v2}} 2.5`,
      `${q}_count{${v2}} 1`,
      ...buckets(c, v1, [0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]),
      `${c}_sum{${v1}} 20010`,
      `${c}_count{${v1}} 3`,
      ...buckets(c, v2, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
      `${c}_sum{${v2}} 0.25`,
      `${c}_count{${v2}} 1`,
      'edgeloop_inference_cache_total{model="im-a",version="1",result="hit"} 3',
      'edgeloop_inference_cache_total{model="im-a",version="1",result="miss"} 1',
      'edgeloop_inference_cache_total{model="im-a",version="2",result="hit"} 0',
      'edgeloop_inference_cache_total{model="im-a",version="2",result="miss"} 1',
    ];
    expect(lines.filter((line) => line.includes('model="im-a"'))).toEqual(expected);
    // Families in order, each headed by its HELP and TYPE.
    expect(lines.filter((line) => line.startsWith('# TYPE'))).toEqual(FAMILIES.map(([n, t]) => `# TYPE ${n} ${t}`));
  });

  it('keeps buckets cumulative with +Inf equal to _count', async () => {
    const values = [0, 0.9, 1.1, 3, 9.99, 10, 60, 400, 999, 2_000, 7_000, 12_000, 1e9];
    for (const [i, ms] of values.entries())
      await recordInference(env.DB, ok('im-mono', 1, ms, values[12 - i] ?? 0, null));
    const lines = await inferenceLines();
    for (const name of ['edgeloop_inference_queue_duration_ms', 'edgeloop_inference_compute_duration_ms']) {
      const counts = lines
        .filter((line) => line.startsWith(`${name}_bucket{model="im-mono"`))
        .map((line) => Number(line.split(' ')[1]));
      expect(counts).toHaveLength(BOUNDS.length);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(counts.at(-1)).toBe(values.length);
      expect(lines).toContain(`${name}_count{model="im-mono",version="1",runtime="tfjs"} ${values.length}`);
    }
  });

  it('counts a clock that stood still or went wrong as 0 ms', async () => {
    await recordInference(env.DB, ok('im-clock', 1, -3, Number.NaN, 'hit'));
    const lines = await inferenceLines();
    const labels = 'model="im-clock",version="1",runtime="tfjs"';
    for (const name of ['edgeloop_inference_queue_duration_ms', 'edgeloop_inference_compute_duration_ms']) {
      expect(lines).toContain(`${name}_bucket{${labels},le="1"} 1`);
      expect(lines).toContain(`${name}_sum{${labels}} 0`);
    }
  });

  it('escapes label values', async () => {
    // Model names cannot hold these (protocol/names.ts); the recorder does not rely on it.
    await recordInference(env.DB, ok('im "odd"\\\nname', 1, 1, 1, 'miss'));
    const lines = await inferenceLines();
    expect(lines).toContain(
      'edgeloop_inference_request_total{model="im \\"odd\\"\\\\\\nname",version="1",runtime="tfjs",status="200"} 1',
    );
    expect(lines).toContain(
      'edgeloop_inference_cache_total{model="im \\"odd\\"\\\\\\nname",version="1",result="miss"} 1',
    );
  });

  it('loses no increment under 50 concurrent recordings', async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => recordInference(env.DB, ok('im-many', 1, i, 2 * i, 'hit'))));
    const lines = await inferenceLines();
    const labels = 'model="im-many",version="1",runtime="tfjs"';
    expect(lines).toContain(`edgeloop_inference_request_total{${labels},status="200"} 50`);
    expect(lines).toContain(`edgeloop_inference_queue_duration_ms_count{${labels}} 50`);
    expect(lines).toContain(`edgeloop_inference_queue_duration_ms_sum{${labels}} 1225`);
    expect(lines).toContain(`edgeloop_inference_compute_duration_ms_sum{${labels}} 2450`);
    expect(lines).toContain('edgeloop_inference_cache_total{model="im-many",version="1",result="hit"} 50');
  });
});
