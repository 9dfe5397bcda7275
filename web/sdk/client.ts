import * as Comlink from 'comlink';
import type { EraseResult } from '../../protocol/clients.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { ParticipateOptions, ParticipateResult } from '../../protocol/participate.ts';
import { type FeedbackLabel, isTensorInput, type PredictOptions, type PredictResult } from '../../protocol/predict.ts';
import type {
  RevertResult,
  SuggestOptions,
  SuggestResult,
  TrainOptions,
  TrainProgress,
  TrainResult,
} from '../../protocol/train.ts';
import type {
  BenchmarkResult,
  ExplainOptions,
  ExplainResult,
  LoadOptions,
  LoadResult,
  RefreshResult,
  SyncResult,
  SyncTrigger,
  WorkerStatus,
} from '../../protocol/worker-api.ts';
import { connect } from './connection.ts';
import { type InputValues, type PredictInput, toModelInput } from './input.ts';
import { type ClientOptions, parseClientOptions, parsePredictOptions } from './options.ts';
import { type BackgroundSyncState, handFailuresToBackgroundSync, watchPageHide } from './page-sync.ts';
import { startBundledWorker } from './start-worker.ts';

/** Message options without the protocol version: the SDK adds `v: 1` (passing it is allowed). */
export type Unversioned<T> = Omit<T, 'v'> & { v?: 1 };

/**
 * A page's handle on its Edgeloop worker. Every method that rejects does so with an
 * `EdgeloopError`, whose `code` is one of the protocol's stable error codes.
 */
export interface EdgeloopClient {
  /**
   * This device's client id as the edge issued it, kept in IndexedDB; null when the worker
   * started offline and has not registered yet (`status().clientId` has the current one).
   */
  readonly clientId: string | null;
  /**
   * Whether a failed sync is handed to Background Sync (needs a service worker registered for
   * the page that calls `answerBackgroundSync`, as the demo app's does), and why not.
   */
  readonly backgroundSync: BackgroundSyncState;
  /** Resolves the alias on the edge, downloads (or reuses the cached) model and picks a backend. */
  load(options: Unversioned<LoadOptions>): Promise<LoadResult>;
  /**
   * Runs the loaded model on one input and records the prediction: a typed array (or nested
   * arrays) of the model's input shape, row-major, or `{ [inputName]: values }` for a model of
   * several inputs (the demo takes 784 values in [0, 1], row-major 28×28). The result has every
   * output by name (`tensors`) and, for a classifier with labels, the class's name.
   * `options.features` gives the model's app-supplied features (manifest features without a
   * `source`); they stay on the device unless the client was created with `shareFeatures`.
   */
  predict(input: PredictInput, options?: PredictOptions): Promise<PredictResult>;
  /** Records the true label of an earlier prediction: a class index or a class name of the manifest's labels, or a regression model's true value. */
  feedback(predictionId: string, label: FeedbackLabel): Promise<void>;
  /**
   * Explains the loaded model's first output for one input of a one-input model (as `predict`
   * takes it): integrated gradients (tfjs layers models) or occlusion (any format), one
   * attribution per value. Refused up front with TOO_COSTLY when its estimate on this device is
   * over `options.budgetMs` (default 30 s). Records nothing.
   */
  explain(input: InputValues, options?: Unversioned<ExplainOptions>): Promise<ExplainResult>;
  /**
   * Fine-tunes a personal copy of the loaded model on this device's feedback, by the model's
   * task: a classifier's labels, a regression model's true values (an embedding model has none:
   * UNSUPPORTED_MODEL); `onProgress` is called once per epoch. The result says whether it was
   * applied (better for you on feedback it did not train on, and at most 1 point of standard
   * accuracy, or of R² for regression, below the registry weights) and, when not, why. An
   * applied fine-tune is stored and serves after a reload. Aborting `options.signal` rejects
   * with CANCELLED and changes nothing.
   */
  train(
    options?: Unversioned<TrainOptions> & { signal?: AbortSignal },
    onProgress?: (progress: TrainProgress) => void,
  ): Promise<TrainResult>;
  /**
   * The recorded, unlabelled predictions the model is least sure of (smallest margin, or largest
   * entropy): what to ask the user to label next.
   */
  suggest(options?: Unversioned<SuggestOptions>): Promise<SuggestResult>;
  /** Removes the personal fine-tune (memory and IndexedDB): the registry weights serve again. */
  revert(): Promise<RevertResult>;
  /**
   * Erases this device everywhere: the edge removes everything it holds of this client (events,
   * runs, drift contributions, registration; `edge` is its receipt), then this device's IndexedDB
   * database is deleted and the client closes (create a new one to start over). When the edge
   * cannot be reached it rejects (NETWORK, EDGE_ERROR) and nothing on the device changes.
   *
   * @example
   * const { edge } = await client.erase();
   * console.log(`removed ${edge?.removed.events ?? 0} events`);
   */
  erase(): Promise<EraseResult>;
  /** Sends recorded events waiting in the outbox to the edge, then this device's drift profiles. */
  sync(): Promise<SyncResult>;
  /** Asks the worker to sync soon without waiting (the SDK already does so on page hide). */
  requestSync(trigger?: SyncTrigger): Promise<void>;
  /** Checks the loaded model's alias; a new version is downloaded, verified and swapped in between predictions. */
  refresh(): Promise<RefreshResult>;
  /** Includes the automatic sync (`sync`: state, retry time, last error) and storage (`storage`: persisted, drops). */
  status(): Promise<WorkerStatus>;
  /** Times `iterations` predicts inside the worker, without the page ↔ worker hop. */
  benchmark(iterations: number): Promise<BenchmarkResult>;
  /**
   * Takes part in the loaded model's open federated round: the round's base is fine-tuned on
   * this device's labels (its labelled predictions stay here), and only the clipped weight
   * delta is stored and sent with a sync, once per round. `status` says what happened:
   * `no-round`, `already`, `not-enough-examples`, `mismatch`, or `sent`, `pending` (a later sync
   * retries it) or `rejected` (the edge refused it for good). A client created with
   * `federated: true` does this on its own after syncs; `status().federated` shows the last round.
   *
   * @example
   * const result = await client.participate();
   * if (result.status === 'sent') console.log(`sent ${result.bytes} bytes for round ${result.roundId}`);
   * else if (result.status === 'not-enough-examples') console.log(`label ${result.needed - result.examples} more`);
   */
  participate(options?: Unversioned<ParticipateOptions>): Promise<ParticipateResult>;
  /** Terminates the worker and removes the page-hide listeners; later calls reject with NOT_INITIALIZED. */
  close(): void;
}

/**
 * Starts an Edgeloop worker for this page and connects it to an edge.
 * Options are checked before anything starts: bad input rejects with INVALID_INPUT.
 *
 * @example
 * import { createClient, EdgeloopError } from './web/sdk/index.ts';
 *
 * const client = await createClient({ endpoint: 'https://edge.example', key: 'pk_client_…' });
 * await client.load({ model: 'digits', alias: 'production' });
 * const { label, predictionId } = await client.predict(pixels); // 784 floats in [0, 1]
 * await client.predict(pixels, { features: { device: 'pen' } }); // a feature the manifest leaves to the app
 * await client.feedback(predictionId, 7);
 * // Any model: inputs by name, typed as the manifest says; outputs by name; labels by name.
 * const { tensors, labelName } = await client.predict({ image: pixels224, ids: Int32Array.of(3) });
 * await client.feedback(predictionId, 'cat'); // a class name of the manifest's labels
 * try {
 *   const { applied, reasons } = await client.train({}, ({ epoch, epochs }) => console.log(`epoch ${epoch}/${epochs}`));
 *   if (!applied) console.log('kept the current model:', reasons.join('; '));
 * } catch (error) {
 *   if (error instanceof EdgeloopError && error.code === 'NO_FEEDBACK') console.log('label a few predictions first');
 * }
 * const { suggestions } = await client.suggest({ k: 5 }); // ask the user about these next
 * await client.revert(); // back to the registry weights
 * const { profiles } = await client.sync(); // profiles.sent: hourly drift profiles sent
 * client.close();
 *
 * // Also send each prediction's app features with its event (off by default):
 * await createClient({ endpoint: 'https://edge.example', key: 'pk_client_…', shareFeatures: true });
 *
 * // Take part in federated rounds on its own, after syncs (off by default; participate() works either way):
 * const federated = await createClient({ endpoint: 'https://edge.example', key: 'pk_client_…', federated: true });
 * console.log((await federated.status()).federated.lastRound); // { id, state: 'sent', examples, norm, clipped, … } | null
 */
export function createClient(options: ClientOptions): Promise<EdgeloopClient> {
  return createClientWith(startBundledWorker, options);
}

/**
 * `createClient` on a worker the caller starts: the script tag starts it from a blob, as a
 * page may not start a worker from another origin's URL.
 *
 * @example
 * const client = await createClientWith(() => new Worker(workerUrl, { type: 'module' }), { endpoint, key });
 */
export async function createClientWith(startWorker: () => Worker, options: ClientOptions): Promise<EdgeloopClient> {
  const init = { ...parseClientOptions(options), v: 1 as const };
  const { connection, started } = await connect((api) => api.init(init), startWorker);
  const { call } = connection;
  const requestSync = (trigger: SyncTrigger = 'manual') => call((api) => api.requestSync(trigger));
  // Page hide is the last moment a tab surely runs: ask the worker to send what it holds.
  const stopWatching =
    typeof document === 'undefined'
      ? () => undefined
      : watchPageHide({ document, window }, (trigger) => {
          requestSync(trigger).catch(() => undefined);
        });
  const background = await handFailuresToBackgroundSync(init.dbName);
  return {
    clientId: started.clientId,
    backgroundSync: background.state,
    load: (load) => call((api) => api.load({ ...load, v: 1 })),
    predict: async (given, options = {}) => {
      const checked = parsePredictOptions(options);
      const { input, transfer } = toModelInput(given);
      return call((api) => api.predict(Comlink.transfer(input, transfer), checked));
    },
    feedback: (predictionId, label) => call((api) => api.feedback(predictionId, label)),
    explain: async (given, options = {}) => {
      const { input, transfer } = toModelInput(given);
      if (!isTensorInput(input)) throw new EdgeloopError('INVALID_INPUT', "input: explain takes one input's values");
      return call((api) => api.explain(Comlink.transfer(input, transfer), { ...options, v: 1 }));
    },
    train: async ({ signal, ...train } = {}, onProgress) => {
      if (signal?.aborted) throw new EdgeloopError('CANCELLED', 'training cancelled before it started');
      const cancel = () => {
        call((api) => api.cancelTraining()).catch(() => undefined);
      };
      signal?.addEventListener('abort', cancel, { once: true });
      try {
        return await call((api) => api.train({ ...train, v: 1 }, onProgress ? Comlink.proxy(onProgress) : undefined));
      } finally {
        signal?.removeEventListener('abort', cancel);
      }
    },
    suggest: (options = {}) => call((api) => api.suggest({ ...options, v: 1 })),
    revert: () => call((api) => api.revert()),
    erase: async () => {
      const result = await call((api) => api.erase());
      stopWatching();
      background.stop();
      connection.close();
      return result;
    },
    sync: () => call((api) => api.sync()),
    requestSync,
    refresh: () => call((api) => api.refresh()),
    status: () => call((api) => api.status()),
    benchmark: (iterations) => call((api) => api.benchmark(iterations)),
    participate: (options = {}) => call<ParticipateResult>((api) => api.participate({ ...options, v: 1 })),
    close: () => {
      stopWatching();
      background.stop();
      connection.close();
    },
  };
}
