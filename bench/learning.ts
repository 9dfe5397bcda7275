// On-device learning (worker/train): the app's own train() with its defaults, through the worker
// API in Node on tfjs-wasm with an in-memory edge, per user style and number of labels; and
// uncertainty sampling (suggest) against random choice. `node bench/learning.ts` runs it alone.
import { USER_STYLES, type UserStyle } from '../models/digits/user-styles.ts';
import { seededRandom } from '../protocol/random.ts';
import { holdoutDigits, publishDigits } from '../worker/test/digits.ts';
import { FakeEdge } from '../worker/test/fake-edge.ts';
import { startWorker } from '../worker/test/harness.ts';

type Api = Awaited<ReturnType<typeof startWorker>>['api'];

export interface LearningRun {
  style: string;
  labels: number;
  seed: number;
  base: number;
  after: number;
  /** (after − base) / (standard − base): the share of the style's gap to standard accuracy closed. */
  gapClosed: number;
  /** Standard accuracy before − after, on held-out digits the labels never come from. */
  standardDrop: number;
  applied: boolean;
  trainMs: number;
  /** The predict after the first label: it waits behind the version's one-time preparation for fine-tunes. */
  prepareMs: number;
  method: string;
}

export interface ActiveRun {
  style: string;
  seed: number;
  strategy: 'uncertainty' | 'random';
  /** Accuracy on the style after each round of labels. */
  curve: { labels: number; accuracy: number }[];
}

const digits = holdoutDigits();
// Labels come from held-out digits 0–999, accuracy is measured on 1000–1999: never on the labels.
const POOL = 1000;
const EVAL = Array.from({ length: 400 }, (_, i) => 1000 + i * 2);

async function freshWorker(): Promise<Api> {
  const edge = new FakeEdge();
  await publishDigits(edge);
  const { api } = await startWorker({ edge, backend: 'wasm' });
  await api.load({ v: 1, model: 'digits' });
  return api;
}

async function accuracy(api: Api, images: Float32Array[], labels: number[]): Promise<number> {
  let correct = 0;
  for (const [i, image] of images.entries()) if ((await api.predict(image)).label === labels[i]) correct++;
  return correct / images.length;
}

function styled(apply: UserStyle, indexes: number[], seed: number) {
  const random = seededRandom(seed);
  return {
    images: indexes.map((i) => apply(digits.images[i] as Float32Array, random)),
    labels: indexes.map((i) => digits.labels[i] as number),
  };
}

function poolOrder(seed: number): number[] {
  const random = seededRandom(seed);
  const order = Array.from({ length: POOL }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** Labels the images; returns how long the predict after the first label took (it waits behind the one-time preparation). */
async function label(api: Api, images: Float32Array[], labels: number[]): Promise<number> {
  let afterFirst = 0;
  for (const [i, image] of images.entries()) {
    const started = performance.now();
    const { predictionId } = await api.predict(image);
    if (i === 1) afterFirst = performance.now() - started;
    await api.feedback(predictionId, labels[i] as number);
  }
  return afterFirst;
}

/**
 * Per style, number of labels and seed: a fresh device labels `n` styled digits (drawn from a
 * pool the accuracy is never measured on) and calls train() with its defaults.
 */
export async function benchLearning(options: { styles?: string[]; labels?: number[]; seeds?: number } = {}) {
  const names = options.styles ?? USER_STYLES.map((s) => s.name);
  const counts = options.labels ?? [10, 25, 50];
  const seeds = options.seeds ?? 3;
  const standardImages = EVAL.map((i) => digits.images[i] as Float32Array);
  const standardLabels = EVAL.map((i) => digits.labels[i] as number);
  const probe = await freshWorker();
  const standardBase = await accuracy(probe, standardImages, standardLabels);
  await probe.dispose();
  const runs: LearningRun[] = [];
  for (const name of names) {
    const style = USER_STYLES.find((s) => s.name === name);
    if (!style) throw new Error(`unknown style ${name}`);
    const test = styled(style.apply, EVAL, 7);
    for (const n of counts) {
      for (let seed = 1; seed <= seeds; seed++) {
        const api = await freshWorker();
        const base = await accuracy(api, test.images, test.labels);
        const taught = styled(style.apply, poolOrder(seed).slice(0, n), 100 + seed);
        const prepareMs = await label(api, taught.images, taught.labels);
        const started = performance.now();
        const result = await api.train({ v: 1, ...JSON.parse(process.env.TRAIN_OPTS ?? '{}') });
        const trainMs = performance.now() - started;
        if (process.env.DEBUG)
          console.log(
            name,
            n,
            seed,
            result.applied,
            result.reasons,
            JSON.stringify(result.judgement),
            JSON.stringify(result.standard),
          );
        const after = await accuracy(api, test.images, test.labels);
        const standardAfter = await accuracy(api, standardImages, standardLabels);
        runs.push({
          style: name,
          labels: n,
          seed,
          base,
          after,
          gapClosed: standardBase - base > 0 ? (after - base) / (standardBase - base) : 0,
          standardDrop: standardBase - standardAfter,
          applied: result.applied,
          trainMs,
          prepareMs,
          method: result.judgement.method,
        });
        await api.dispose();
      }
    }
  }
  return { standardBase, runs };
}

/**
 * Uncertainty against random choice: a device holds 200 unlabelled styled predictions; after 10
 * random labels and a train, each round labels 10 more, chosen by `suggest` (smallest margin)
 * or at random, and trains again.
 */
export async function benchActiveLearning(options: { styles?: string[]; seeds?: number; rounds?: number } = {}) {
  const names = options.styles ?? ['tilted', 'bold', 'mirrored', 'slanted'];
  const seeds = options.seeds ?? 2;
  const rounds = options.rounds ?? 4;
  const runs: ActiveRun[] = [];
  for (const name of names) {
    const style = USER_STYLES.find((s) => s.name === name);
    if (!style) throw new Error(`unknown style ${name}`);
    const test = styled(style.apply, EVAL, 7);
    for (let seed = 1; seed <= seeds; seed++) {
      const pool = styled(style.apply, poolOrder(seed).slice(0, 200), 200 + seed);
      for (const strategy of ['uncertainty', 'random'] as const) {
        const api = await freshWorker();
        const ids: string[] = [];
        for (const image of pool.images) ids.push((await api.predict(image)).predictionId);
        const labelOf = new Map(ids.map((id, i) => [id, pool.labels[i] as number]));
        const unlabelled = new Set(ids);
        const give = async (chosen: string[]) => {
          for (const id of chosen) {
            await api.feedback(id, labelOf.get(id) as number);
            unlabelled.delete(id);
          }
        };
        const random = seededRandom(300 + seed);
        const pickRandom = (k: number) => [...unlabelled].sort(() => random() - 0.5).slice(0, k);
        const curve: ActiveRun['curve'] = [];
        await give(pickRandom(10));
        for (let round = 1; round <= rounds; round++) {
          await api.train({ v: 1 }).catch(() => undefined);
          curve.push({ labels: 10 * round, accuracy: await accuracy(api, test.images, test.labels) });
          if (round === rounds) break;
          const next =
            strategy === 'random'
              ? pickRandom(10)
              : // The test predictions are unlabelled too: take the pool's among the least sure.
                (await api.suggest({ v: 1, k: 100, scan: 5000 })).suggestions
                  .map((s) => s.predictionId)
                  .filter((id) => unlabelled.has(id))
                  .slice(0, 10);
          await give(next);
        }
        runs.push({ style: name, seed, strategy, curve });
        await api.dispose();
      }
    }
  }
  return runs;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

/** One line per style and label count: means over seeds, and the worst seed. */
export function learningTable(result: Awaited<ReturnType<typeof benchLearning>>) {
  const keys = [...new Set(result.runs.map((r) => `${r.style}|${r.labels}`))];
  return keys.map((key) => {
    const runs = result.runs.filter((r) => `${r.style}|${r.labels}` === key);
    const [style, labels] = key.split('|');
    return {
      style,
      labels: Number(labels),
      base: (100 * mean(runs.map((r) => r.base))).toFixed(1),
      after: (100 * mean(runs.map((r) => r.after))).toFixed(1),
      'gap closed %': (100 * mean(runs.map((r) => r.gapClosed))).toFixed(0),
      'worst seed %': (100 * Math.min(...runs.map((r) => r.gapClosed))).toFixed(0),
      'std drop pts': (100 * mean(runs.map((r) => r.standardDrop))).toFixed(2),
      applied: `${runs.filter((r) => r.applied).length}/${runs.length}`,
      'train ms': mean(runs.map((r) => r.trainMs)).toFixed(0),
      'prepare ms': mean(runs.map((r) => r.prepareMs)).toFixed(0),
    };
  });
}

/** Mean accuracy per style and number of labels, uncertainty against random. */
export function activeTable(runs: ActiveRun[]) {
  const rows: Record<string, string | number>[] = [];
  for (const style of [...new Set(runs.map((r) => r.style))]) {
    const of = (strategy: ActiveRun['strategy']) => runs.filter((r) => r.style === style && r.strategy === strategy);
    const labels = of('random')[0]?.curve.map((p) => p.labels) ?? [];
    for (const [i, n] of labels.entries()) {
      const at = (strategy: ActiveRun['strategy']) => mean(of(strategy).map((r) => r.curve[i]?.accuracy ?? 0));
      rows.push({
        style,
        labels: n,
        'uncertainty %': (100 * at('uncertainty')).toFixed(1),
        'random %': (100 * at('random')).toFixed(1),
        'difference pts': (100 * (at('uncertainty') - at('random'))).toFixed(1),
      });
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const styles = process.env.STYLES?.split(',');
  const labels = process.env.LABELS?.split(',').map(Number);
  const seeds = process.env.SEEDS ? Number(process.env.SEEDS) : undefined;
  const result = await benchLearning({
    ...(styles ? { styles } : {}),
    ...(labels ? { labels } : {}),
    ...(seeds ? { seeds } : {}),
  });
  console.log(`standard accuracy of the registry weights: ${(100 * result.standardBase).toFixed(1)}%`);
  console.table(learningTable(result));
  if (process.env.ACTIVE !== '0') console.table(activeTable(await benchActiveLearning()));
}
