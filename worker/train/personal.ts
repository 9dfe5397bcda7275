import type * as tfl from '@tensorflow/tfjs-layers';
import type { PersonalState } from '../../protocol/worker-api.ts';
import { type StoredPersonal, withStorage } from '../db.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import {
  buildGate,
  cloneHead,
  disposeWeights,
  gateShape,
  type HeadSplit,
  personalModel,
  type StoredWeight,
  setStoredWeights,
  splitHead,
} from './head.ts';

/** A personal fine-tune serving on a loaded model: its head and gate, and what it is. */
export interface Personal {
  head: tfl.LayersModel;
  gate: tfl.LayersModel;
  state: PersonalState;
  /** Prediction ids of the labels it trained on. */
  trainedOn: Set<string>;
}

/** The loaded registry model's head split, found once per load. */
export function headSplit(loaded: LoadedModel): HeadSplit {
  loaded.head ??= splitHead(loaded.registry);
  return loaded.head;
}

/**
 * Serves a personal fine-tune on `loaded` (built on the active backend from `weights`); with
 * `persist`, first stores it in IndexedDB, so a failed write changes nothing. The fine-tune it
 * replaces is freed.
 *
 * @example
 * await applyPersonal(runtime, loaded, weights, state, { persist: true });
 */
export async function applyPersonal(
  runtime: Pick<Runtime, 'db'>,
  loaded: LoadedModel,
  weights: { head: StoredWeight[]; gate: StoredWeight[]; trainedOn: string[] },
  state: PersonalState,
  { persist }: { persist: boolean },
): Promise<void> {
  const split = headSplit(loaded);
  const head = cloneHead(split.layers, split.featureShape, weights.head);
  const gate = buildGate(gateShape(split, state.alignment !== undefined));
  try {
    setStoredWeights(gate, weights.gate);
    if (persist) {
      const row: StoredPersonal = { model: loaded.name, state, ...weights };
      await withStorage('store the personal fine-tune', () => runtime.db.personal.put(row));
    }
  } catch (error) {
    disposeWeights(head);
    disposeWeights(gate);
    throw error;
  }
  const previous = loaded.personal;
  const kind = state.task === 'regression' ? 'linear' : 'log';
  loaded.model = personalModel(loaded.registry, split, { head, gate, strength: state.strength, kind }, state.alignment);
  loaded.personal = { head, gate, state, trainedOn: new Set(weights.trainedOn) };
  if (previous) disposePersonal(previous);
}

/**
 * Removes the personal fine-tune of `loaded`'s model from IndexedDB and from serving: the
 * registry weights serve again. False when there was none.
 *
 * @example
 * await revertPersonal(runtime, loaded); // true
 */
export async function revertPersonal(runtime: Pick<Runtime, 'db'>, loaded: LoadedModel): Promise<boolean> {
  const stored = await withStorage('read the personal fine-tune', () => runtime.db.personal.get(loaded.name));
  await withStorage('remove the personal fine-tune', () => runtime.db.personal.delete(loaded.name));
  const active = loaded.personal;
  loaded.model = loaded.registry;
  loaded.personal = null;
  if (active) disposePersonal(active);
  return Boolean(stored || active);
}

/**
 * After a load: serves the stored personal fine-tune when it was built on this version. One
 * built on another version is never applied on top of this one: it is removed, and returned so
 * the caller can replay its corrections on the new base.
 *
 * @example
 * const { restored, stale } = await restorePersonal(runtime, loaded);
 */
export async function restorePersonal(
  runtime: Pick<Runtime, 'db'>,
  loaded: LoadedModel,
): Promise<{ restored: boolean; stale?: PersonalState }> {
  const stored = await withStorage('read the personal fine-tune', () => runtime.db.personal.get(loaded.name));
  if (!stored) return { restored: false };
  if (stored.state.baseVersion !== loaded.version) {
    await withStorage('remove the personal fine-tune', () => runtime.db.personal.delete(loaded.name));
    return { restored: false, stale: stored.state };
  }
  await applyPersonal(runtime, loaded, stored, stored.state, { persist: false });
  return { restored: true };
}

/** Frees a personal fine-tune's own weights; the registry model it mixed with is left alone. */
export function disposePersonal(personal: Personal): void {
  disposeWeights(personal.head);
  disposeWeights(personal.gate);
}

/**
 * Frees a loaded model: its personal fine-tune, then the registry model.
 *
 * @example
 * releaseModel(previous);
 */
export function releaseModel(loaded: LoadedModel): void {
  if (loaded.personal) disposePersonal(loaded.personal);
  loaded.registry.dispose();
}
