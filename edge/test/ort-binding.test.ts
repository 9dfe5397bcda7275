import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../protocol/hash.ts';
import type { OrtRunRequest } from '../../protocol/ort.ts';
import { ApiError } from '../src/http/api-error.ts';
import { runOnnx } from '../src/infer/ort-client.ts';
import { blobKey, putBlobs } from '../src/storage/blobs.ts';
import { addModel, gemmModel, gemmOf } from './onnx-model.ts';

// The ORT Worker (edge/ort, started by vitest.config.ts as an auxiliary worker) through the
// `ORT` service binding and runOnnx, with tiny ONNX models written here (onnx-model.ts) and
// stored in R2 where the edge keeps files, so every answer can be checked by hand.

const ort = env.ORT;

async function store(bytes: Uint8Array): Promise<string> {
  const sha256 = await sha256Hex(bytes);
  await putBlobs(env.ARTIFACTS, [{ sha256, bytes }]);
  return sha256;
}

/** The ApiError `promise` rejects with. */
async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

const expectClose = (actual: ArrayLike<number | bigint>, expected: number[]) => {
  expect(actual.length).toBe(expected.length);
  for (const [i, x] of expected.entries())
    expect(Math.abs(Number(actual[i] ?? Number.NaN) - x)).toBeLessThanOrEqual(1e-5);
};

let gemm: string;
let add: string;
const x = (shape: number[], data: Float32Array | number[]): OrtRunRequest => ({
  v: 1,
  sha256: gemm,
  inputs: [{ name: 'x', shape, data }],
});

beforeAll(async () => {
  gemm = await store(gemmModel());
  add = await store(addModel());
});

describe('ORT Worker through the service binding', () => {
  it('runs a model from R2 and caches its session', async () => {
    const row = [1, 2, -1, 0.5];
    const first = await runOnnx(env.ORT, x([1, 4], Float32Array.from(row)), 'gemm');
    const { hidden, probs } = gemmOf(row);
    expect(first.outputs.map(({ name, type, shape }) => ({ name, type, shape }))).toEqual([
      { name: 'hidden', type: 'float32', shape: [1, 3] },
      { name: 'probs', type: 'float32', shape: [1, 3] },
    ]);
    expect(first.outputs[0]?.data).toBeInstanceOf(Float32Array);
    expectClose(first.outputs[0]?.data ?? [], hidden);
    expectClose(first.outputs[1]?.data ?? [], probs);
    expect(first.cached).toBe(false);
    expect(first.loadMs).toBeGreaterThan(0);

    const second = await runOnnx(env.ORT, x([1, 4], row));
    expect(second.cached).toBe(true);
    expect(second.loadMs).toBe(0);
    expectClose(second.outputs[1]?.data ?? [], probs);
    expect(await ort.cached()).toContain(gemm);
  });

  it('runs a batch, and only the outputs asked for', async () => {
    const rows = [
      [1, 2, -1, 0.5],
      [-1, 0, -1, 0], // every unit below 0: Relu gives zeros, Softmax a uniform third
      [0.25, 0, 4, -2],
    ];
    const result = await runOnnx(env.ORT, { ...x([3, 4], new Float32Array(rows.flat())), outputs: ['probs'] });
    expect(result.outputs.map((o) => [o.name, o.shape])).toEqual([['probs', [3, 3]]]);
    expectClose(
      result.outputs[0]?.data ?? [],
      rows.flatMap((row) => gemmOf(row).probs),
    );
    expectClose(result.outputs[0]?.data.slice(3, 6) ?? [], [1 / 3, 1 / 3, 1 / 3]);
  });

  it('sends only its view of a larger buffer', async () => {
    const buffer = new Float32Array(1000).fill(7);
    buffer.set([1, 2, -1, 0.5], 100);
    const result = await runOnnx(env.ORT, x([1, 4], buffer.subarray(100, 104)));
    expectClose(result.outputs[1]?.data ?? [], gemmOf([1, 2, -1, 0.5]).probs);
  });

  it('answers inputs that do not fit the model with 400 INVALID_INPUT', async () => {
    const shape = await apiError(runOnnx(env.ORT, x([2, 5], new Float32Array(10)), 'gemm'));
    expect(shape.status).toBe(400);
    expect(shape.code).toBe('INVALID_INPUT');
    expect(shape.message).toBe('gemm: input "x" has shape [2,5]; the model takes [N,4]');

    const count = await apiError(runOnnx(env.ORT, x([2, 4], new Float32Array(7))));
    expect([count.status, count.code]).toEqual([400, 'INVALID_INPUT']);
    expect(count.message).toContain('data has 7 elements; shape [2,4] holds 8');

    const name = await apiError(
      runOnnx(env.ORT, { v: 1, sha256: gemm, inputs: [{ name: 'image', shape: [1, 4], data: [1, 2, 3, 4] }] }),
    );
    expect([name.status, name.code]).toEqual([400, 'INVALID_INPUT']);
    expect(name.message).toContain('the model has no input "image"; its inputs: x');

    const output = await apiError(runOnnx(env.ORT, { ...x([1, 4], [1, 2, 3, 4]), outputs: ['logits'] }));
    expect([output.status, output.code]).toEqual([400, 'INVALID_INPUT']);
  });

  it('answers a shape only ORT can refuse with 400 INVALID_INPUT', async () => {
    const error = await apiError(
      runOnnx(env.ORT, {
        v: 1,
        sha256: add,
        inputs: [
          { name: 'a', shape: [2, 3], data: new Float32Array(6) },
          { name: 'b', shape: [3, 3], data: new Float32Array(9) },
        ],
      }),
    );
    expect([error.status, error.code], error.message).toEqual([400, 'INVALID_INPUT']);
    expect(error.message).toMatch(/^ONNX model: ONNX Runtime: .*broadcast/);
    expect(error.message).not.toMatch(/ERROR_CODE|onnxruntime::|\.h:\d+/);
  });

  it('answers a missing model file with 500 INTERNAL naming its key', async () => {
    const sha256 = 'f'.repeat(64);
    const error = await apiError(
      runOnnx(env.ORT, { v: 1, sha256, inputs: [{ name: 'x', shape: [1], data: [1] }] }, 'm v1'),
    );
    expect([error.status, error.code]).toEqual([500, 'INTERNAL']);
    expect(error.message).toBe(`m v1: model ffffffffffff: no file under "${blobKey(sha256)}" in storage`);
  });

  it('refuses stored bytes that do not match their sha256 (500 DIGEST_MISMATCH)', async () => {
    const sha256 = await sha256Hex(new TextEncoder().encode('another model'));
    await env.ARTIFACTS.put(blobKey(sha256), gemmModel());
    const error = await apiError(runOnnx(env.ORT, { ...x([1, 4], [1, 2, 3, 4]), sha256 }));
    expect([error.status, error.code]).toEqual([500, 'DIGEST_MISMATCH']);
  });

  it('answers a file ORT cannot load with 500 INTERNAL, and keeps serving the others', async () => {
    const sha256 = await store(new TextEncoder().encode('not an onnx model'));
    const error = await apiError(runOnnx(env.ORT, { ...x([1, 4], [1, 2, 3, 4]), sha256 }));
    expect([error.status, error.code]).toEqual([500, 'INTERNAL']);
    expect(error.message).toMatch(/^ONNX model: ONNX Runtime could not load model [0-9a-f]{12}: /);
    expect(await ort.cached()).not.toContain(sha256);
    const ok = await runOnnx(env.ORT, x([1, 4], [1, 2, 3, 4]));
    expectClose(ok.outputs[0]?.data ?? [], gemmOf([1, 2, 3, 4]).hidden);
  });

  it('validates what crosses the binding where it enters the ORT Worker', async () => {
    const answer = await ort.run({ v: 2, sha256: 'nope' } as unknown as OrtRunRequest);
    expect(answer).toMatchObject({ v: 1, ok: false, error: { kind: 'INVALID_INPUT' } });
  });
});
