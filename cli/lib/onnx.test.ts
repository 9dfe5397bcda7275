import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR } from '../../models/digits/artifacts.ts';
import { Manifest } from '../../protocol/manifest.ts';
import type { EdgeClient } from './client.ts';
import { CliError } from './errors.ts';
import { ONNX_PATH, withOnnxFile } from './onnx.ts';
import { type PublishProgress, publishDir } from './publish.ts';

ort.env.wasm.numThreads = 1;

const digits = v.parse(Manifest, JSON.parse(readFileSync(join(ARTIFACTS_DIR, 'manifest.json'), 'utf8')));

/** A client whose publish keeps the multipart form instead of sending it. */
function capturingClient(): { client: EdgeClient; form: () => FormData } {
  let sent: FormData | undefined;
  const client = {
    publish: async (model: string, form: FormData) => {
      sent = form;
      return { model, version: 1, files: [] };
    },
  } as unknown as EdgeClient;
  return {
    client,
    form: () => {
      if (!sent) throw new Error('nothing published');
      return sent;
    },
  };
}

describe('withOnnxFile', () => {
  it('adds model.onnx with role onnx and keeps every other file', () => {
    const { manifest, path } = withOnnxFile(digits);
    expect(path).toBe(ONNX_PATH);
    expect(manifest.files.slice(0, -1)).toEqual(digits.files);
    expect(manifest.files.at(-1)).toEqual({ path: 'model.onnx', role: 'onnx' });
  });

  it('replaces a listed onnx file at its path, dropping its digest', () => {
    const listed = {
      ...digits,
      files: [...digits.files, { path: 'export/m.onnx', role: 'onnx' as const, sha256: 'a'.repeat(64) }],
    };
    const { manifest, path } = withOnnxFile(listed);
    expect(path).toBe('export/m.onnx');
    expect(manifest.files.filter((f) => f.role === 'onnx')).toEqual([{ path: 'export/m.onnx', role: 'onnx' }]);
  });

  it('refuses when model.onnx is listed with another role', () => {
    const clash = { ...digits, files: [...digits.files, { path: 'model.onnx', role: 'other' as const }] };
    expect(() => withOnnxFile(clash)).toThrow(CliError);
    expect(() => withOnnxFile(clash)).toThrow('model.onnx is already listed with role "other"');
  });
});

describe('publishDir with onnx', () => {
  it('uploads the digits export as model.onnx (role onnx) that runs with the manifest tensor names', async () => {
    const { client, form } = capturingClient();
    const progress: PublishProgress[] = [];
    await publishDir(client, ARTIFACTS_DIR, (p) => progress.push(p), { onnx: true });
    const sent = v.parse(Manifest, JSON.parse(await (form().get('manifest') as Blob).text()));
    expect(sent.files.map((f) => [f.path, f.role])).toEqual([
      ...digits.files.map((f) => [f.path, f.role]),
      ['model.onnx', 'onnx'],
    ]);
    const part = form().get('model.onnx');
    expect(part).toBeInstanceOf(Blob);
    const bytes = new Uint8Array(await (part as Blob).arrayBuffer());
    expect(progress[0]).toEqual({ kind: 'onnx', from: 'model.json', path: 'model.onnx', size: bytes.byteLength });
    expect(progress.at(-1)).toMatchObject({ kind: 'upload', files: digits.files.length + 1 });

    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(['image']);
    expect(session.outputNames).toEqual(['probabilities']);
    const result = await session.run({ image: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 28, 28, 1]) });
    const probabilities = result.probabilities?.data as Float32Array;
    expect(probabilities).toHaveLength(20);
    expect(probabilities.slice(0, 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('sends no onnx file without the option', async () => {
    const { client, form } = capturingClient();
    await publishDir(client, ARTIFACTS_DIR);
    expect(form().get('model.onnx')).toBeNull();
  });
});
