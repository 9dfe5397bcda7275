import * as v from 'valibot';
import { decodeDigitExamples, HOLDOUT_FILE, PIXELS } from '../../models/digits/data.ts';
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

/** The held-out digits: `count` images as 784 floats in [0, 1] with their labels. */
export function holdoutDigits(): { count: number; images: Float32Array[]; labels: number[] } {
  const { count, labels, pixels } = decodeDigitExamples(readRepoFile(`${ARTIFACTS}/${HOLDOUT_FILE}`), HOLDOUT_FILE);
  const images = Array.from({ length: count }, (_, i) =>
    Float32Array.from(pixels.subarray(i * PIXELS, (i + 1) * PIXELS), (b) => b / 255),
  );
  return { count, images, labels: Array.from(labels) };
}
