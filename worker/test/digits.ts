import * as v from 'valibot';
import { Manifest } from '../../protocol/manifest.ts';
import type { FakeEdge, FakeFile } from './fake-edge.ts';
import { readRepoFile } from './node-files.ts';

const ARTIFACTS = 'models/digits/artifacts';

/** Publishes the real digits artifacts on the fake edge as digits v1 (alias production). */
export async function publishDigits(edge: FakeEdge): Promise<void> {
  const manifest = v.parse(Manifest, JSON.parse(new TextDecoder().decode(readRepoFile(`${ARTIFACTS}/manifest.json`))));
  const files: FakeFile[] = manifest.files.map((f) => ({
    path: f.path,
    role: f.role,
    bytes: readRepoFile(`${ARTIFACTS}/${f.path}`),
  }));
  await edge.publish('digits', 1, files, manifest);
}

/** The held-out digit records: `count` images as 784 floats in [0, 1] with their labels. */
export function holdoutDigits(): { count: number; images: Float32Array[]; labels: number[] } {
  const bytes = readRepoFile(`${ARTIFACTS}/holdout.bin`);
  const count = bytes.length / 785;
  const images: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    labels.push(bytes[i * 785] as number);
    images.push(Float32Array.from(bytes.subarray(i * 785 + 1, (i + 1) * 785), (b) => b / 255));
  }
  return { count, images, labels };
}

/** The image turned a quarter clockwise: a "user style" the upright-trained model mostly gets wrong. */
export function rotateQuarter(image: Float32Array): Float32Array {
  const out = new Float32Array(784);
  for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) out[r * 28 + c] = image[(27 - c) * 28 + r] as number;
  return out;
}
