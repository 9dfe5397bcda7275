// Rebuilds the reference profile (artifacts/reference.json) from the committed weights and
// the training split, and points the manifest at it, without retraining: `npm run
// reference:digits`. `npm run train:digits` writes the same file after training.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { setBackend } from '@tensorflow/tfjs-core';
import * as v from 'valibot';
import { Manifest } from '../../protocol/manifest.ts';
import { ARTIFACTS_DIR, loadLayersModelFromDir, sha256File } from './artifacts.ts';
import { DIGIT_FEATURES } from './features.ts';
import { loadMnistRecords } from './mnist-source.ts';
import { digitsReference, REFERENCE_FILE } from './reference.ts';
import { DIGITS_SPLIT, splitDigits } from './split.ts';

await setBackend('cpu');
const { train } = splitDigits(loadMnistRecords(), DIGITS_SPLIT);
const model = await loadLayersModelFromDir(ARTIFACTS_DIR);
const reference = digitsReference(model, train);
writeFileSync(join(ARTIFACTS_DIR, REFERENCE_FILE), JSON.stringify(reference));

const manifestPath = join(ARTIFACTS_DIR, 'manifest.json');
const manifest = v.parse(Manifest, JSON.parse(readFileSync(manifestPath, 'utf8')));
const file = {
  path: REFERENCE_FILE,
  role: 'reference' as const,
  sha256: sha256File(join(ARTIFACTS_DIR, REFERENCE_FILE)),
};
const updated = v.parse(Manifest, {
  ...manifest,
  features: { features: DIGIT_FEATURES },
  files: [...manifest.files.filter((f) => f.path !== REFERENCE_FILE), file],
  reference: { path: REFERENCE_FILE },
});
writeFileSync(manifestPath, `${JSON.stringify(updated, null, 2)}\n`);
console.log(`wrote ${REFERENCE_FILE}: ${reference.count} training rows, ${JSON.stringify(reference).length} bytes`);
