// Rewrites the demo's example sets (artifacts/replay.safetensors and holdout.safetensors) from
// the seeded split, without retraining, and lists them in the manifest with their roles and
// digests in place of whatever files had those roles (the legacy replay.bin and holdout.bin,
// which hold the same examples): `npx tsx models/digits/write-examples.ts`. Deterministic:
// data.test.ts checks that the committed files are what this writes. `npm run train:digits`
// writes the same files after training.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { Manifest } from '../../protocol/manifest.ts';
import { ARTIFACTS_DIR, sha256File } from './artifacts.ts';
import { encodeDigitExamples, HOLDOUT_FILE, REPLAY_FILE } from './data.ts';
import { loadMnistRecords } from './mnist-source.ts';
import { DIGITS_SPLIT, splitDigits } from './split.ts';

const { holdout, replay } = splitDigits(loadMnistRecords(), DIGITS_SPLIT);
const sets = { replay: [REPLAY_FILE, replay], holdout: [HOLDOUT_FILE, holdout] } as const;
for (const [path, records] of Object.values(sets))
  writeFileSync(join(ARTIFACTS_DIR, path), encodeDigitExamples(records));

const manifestPath = join(ARTIFACTS_DIR, 'manifest.json');
const manifest = v.parse(Manifest, JSON.parse(readFileSync(manifestPath, 'utf8')));
const files = manifest.files.map((file) => {
  if (file.role !== 'replay' && file.role !== 'holdout') return file;
  const [path] = sets[file.role];
  return { path, role: file.role, sha256: sha256File(join(ARTIFACTS_DIR, path)) };
});
writeFileSync(manifestPath, `${JSON.stringify(v.parse(Manifest, { ...manifest, files }), null, 2)}\n`);
console.log(
  `wrote ${REPLAY_FILE} (${replay.count} examples) and ${HOLDOUT_FILE} (${holdout.count}), listed in manifest.json`,
);
