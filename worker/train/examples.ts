import { EdgeloopError } from '../../protocol/errors.ts';
import type { FileRole, Manifest } from '../../protocol/manifest.ts';
import { decodeExamples, type ExamplesOf } from '../../protocol/tensors/examples.ts';
import { type PredictionRow, withStorage } from '../db.ts';
import { fetchVerified, pathsWithRole, storedFile } from '../infer/files.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { exampleRow, rowSize } from './rows.ts';

/**
 * Labelled inputs, flat: example i is `inputs[i * size … (i + 1) * size)` with label `labels[i]`,
 * a class index (Int32Array) or a regression model's true value (Float32Array): the shared
 * container's examples (protocol/tensors/examples.ts).
 */
export type Examples = ExamplesOf<Int32Array | Float32Array>;

/** What a fine-tune learns: a classifier's labels, or a regression model's true values (one output). */
export type TrainTask = 'classification' | 'regression';

/**
 * The task a version's fine-tune learns, from its manifest; null when it has nothing to learn
 * from on the device (an embedding's feedback carries no label).
 *
 * @example
 * trainTask(loaded.info.manifest); // 'classification'
 */
export function trainTask(manifest: Pick<Manifest, 'task'>): TrainTask | null {
  const task = manifest.task ?? 'classification';
  return task === 'embedding' ? null : task;
}

/**
 * Downloads (or reads from the cache), verifies and decodes the model's examples with a role:
 * a safetensors examples file or legacy records (protocol/tensors/examples.ts), each input of the
 * model's size (for a model of several inputs, a row of all of them: rows.ts) and each label
 * one of its classes (or, for a regression model, one finite value),
 * else INVALID_MANIFEST naming the file. A version without such a file: MISSING_FILE, or with
 * `optional` no examples.
 *
 * @example
 * const holdout = await roleExamples(runtime, loaded, 'holdout');
 */
export async function roleExamples(
  runtime: Pick<Runtime, 'db' | 'edge'>,
  loaded: Pick<LoadedModel, 'info' | 'name' | 'version' | 'inputSize' | 'classes'> &
    Partial<Pick<LoadedModel, 'registry'>>,
  role: FileRole,
  { optional = false }: { optional?: boolean } = {},
): Promise<Examples> {
  const [path] = pathsWithRole(loaded.info, role);
  // A model of several inputs: rows of all of them (rows.ts).
  const size = loaded.registry && loaded.registry.inputs.length > 1 ? rowSize(loaded.registry) : loaded.inputSize;
  const task = trainTask(loaded.info.manifest) ?? 'classification';
  if (!path) {
    if (optional) return { count: 0, size, inputs: new Float32Array(0), labels: newLabels(task, 0) };
    throw new EdgeloopError('MISSING_FILE', `${loaded.name} v${loaded.version} ships no file with role ${role}`);
  }
  const { bytes } = await fetchVerified(runtime, loaded.info, storedFile(loaded.info, path));
  const spec =
    task === 'regression'
      ? ({ task, size, targets: loaded.classes } as const)
      : ({ task, size, classes: loaded.classes } as const);
  return decodeExamples(new Uint8Array(bytes), spec, path);
}

/** Labels of a task: class indices, or true values. */
export function newLabels(task: TrainTask, count: number): Int32Array | Float32Array {
  return task === 'regression' ? new Float32Array(count) : new Int32Array(count);
}

/** `count` labels of the same kind as `labels` (class indices or true values). */
export function labelsLike(labels: Int32Array | Float32Array, count: number): Int32Array | Float32Array {
  return labels instanceof Float32Array ? new Float32Array(count) : new Int32Array(count);
}

/** The user's labelled examples: `weights` per example, `ids` their prediction ids, most recent first. */
export interface UserExamples extends Examples {
  weights: Float32Array;
  ids: string[];
}

/**
 * Labelled examples a fine-tune uses at most: the most recent ones. Bounds fit time however long
 * the device's history grows, and follows a user whose handwriting changes.
 */
export const MAX_USER_EXAMPLES = 256;

/**
 * Weight of a confirmation (the label the model had predicted) against a correction (1): it
 * tells the head little it did not know, and a user who only confirms should not drown the few
 * corrections.
 */
export const CONFIRMATION_WEIGHT = 0.5;

/**
 * The versions whose predictions a fine-tune of `loaded` may learn from: the loaded version,
 * the version its manifest says it was fine-tuned from, and `also` (a stored fine-tune's base
 * when the alias moved: its corrections are replayed on the new base).
 *
 * @example
 * lineageVersions(loaded); // Set { 3, 2 } for v3 fine-tuned from v2
 */
export function lineageVersions(loaded: LoadedModel, also?: number): Set<number> {
  const versions = new Set([loaded.version]);
  const parent = loaded.info.manifest.lineage?.parentVersion;
  if (parent !== undefined) versions.add(parent);
  if (also !== undefined) versions.add(also);
  return versions;
}

/**
 * The user's labelled examples for the loaded model: each labelled prediction of `versions` with
 * its latest label (highest outbox seq: corrections win), most recent label first, inputs seen
 * twice kept once (the latest label), at most `limit`. A regression model's examples are its
 * true values (feedback `value`), a confirmation one equal to what the model answered. Given the
 * registry model and signature, each example is its row of every input (rows.ts).
 */
export async function userExamples(
  runtime: Pick<Runtime, 'db'>,
  loaded: Pick<LoadedModel, 'name' | 'inputSize'> & Partial<Pick<LoadedModel, 'registry' | 'signature'>>,
  versions: ReadonlySet<number> | null,
  limit = MAX_USER_EXAMPLES,
  task: TrainTask = 'classification',
): Promise<UserExamples> {
  const { db } = runtime;
  const rows = await withStorage('read feedback', () => db.feedback.toArray());
  const latest = new Map<string, { label: number; seq: number }>();
  for (const row of rows) {
    const seen = latest.get(row.predictionId);
    // A classifier learns from labels, a regression model from values: a row of the other kind is not its feedback.
    const label = task === 'regression' ? row.value : row.label;
    if (label === undefined) continue;
    if (!seen || row.seq > seen.seq) latest.set(row.predictionId, { label, seq: row.seq });
  }
  const ids = [...latest.entries()].sort((a, b) => b[1].seq - a[1].seq).map(([id]) => id);
  const { registry, signature } = loaded;
  const rowOf = (p: PredictionRow) =>
    registry && signature
      ? exampleRow({ registry, signature }, p)
      : p.input.length === loaded.inputSize
        ? p.input
        : null;
  const usable: { prediction: PredictionRow; row: Float32Array }[] = [];
  const inputsSeen = new Set<string>();
  // Read in slices: most users stop at `limit` long before the end of their history.
  for (let from = 0; from < ids.length && usable.length < limit; from += limit) {
    const slice = ids.slice(from, from + limit);
    const predictions = await withStorage('read predictions', () => db.predictions.bulkGet(slice));
    for (const p of predictions) {
      if (!p || p.model !== loaded.name) continue;
      if (versions && !versions.has(p.version)) continue;
      const row = rowOf(p);
      if (!row) continue;
      const key = inputKey(row);
      if (inputsSeen.has(key)) continue;
      inputsSeen.add(key);
      usable.push({ prediction: p, row });
      if (usable.length === limit) break;
    }
  }
  const size = usable[0]?.row.length ?? loaded.inputSize;
  const inputs = new Float32Array(usable.length * size);
  const labels = newLabels(task, usable.length);
  const weights = new Float32Array(usable.length);
  usable.forEach(({ prediction, row }, i) => {
    const label = latest.get(prediction.id)?.label ?? 0;
    inputs.set(row, i * size);
    labels[i] = label;
    // What the model said: its label, or its (float32) value, which a confirmed value equals as a float32.
    const said = task === 'regression' ? Math.fround(prediction.outputs[0] ?? Number.NaN) : prediction.label;
    weights[i] = (task === 'regression' ? Math.fround(label) : label) === said ? CONFIRMATION_WEIGHT : 1;
  });
  return { count: usable.length, size, inputs, labels, weights, ids: usable.map((u) => u.prediction.id) };
}

/** A key equal for equal inputs (FNV-1a over the float bits, with the length). */
function inputKey(input: Float32Array): string {
  const words = new Uint32Array(input.buffer, input.byteOffset, input.length);
  let hash = 0x811c9dc5;
  for (const word of words) hash = Math.imul(hash ^ word, 0x01000193) >>> 0;
  return `${input.length}:${hash.toString(36)}`;
}

/**
 * Examples `indexes` of `examples`, in that order.
 *
 * @example
 * const judged = pick(examples, [3, 7, 9]);
 */
export function pick(examples: Examples, indexes: readonly number[]): Examples {
  const labels = labelsLike(examples.labels, indexes.length);
  indexes.forEach((from, to) => {
    labels[to] = examples.labels[from] as number;
  });
  return {
    count: indexes.length,
    size: examples.size,
    inputs: rowsOf(examples.inputs, indexes, examples.size),
    labels,
  };
}

/**
 * Rows `indexes` of a row-major [n, width] array, in that order.
 *
 * @example
 * rowsOf(probabilities, [2, 0], 10); // rows 2 and 0 of a [n, 10] array
 */
export function rowsOf(values: Float32Array, indexes: readonly number[], width: number): Float32Array {
  const out = new Float32Array(indexes.length * width);
  indexes.forEach((from, to) => {
    out.set(values.subarray(from * width, (from + 1) * width), to * width);
  });
  return out;
}
