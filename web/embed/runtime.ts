import { EdgeloopError } from '../../protocol/errors.ts';
import type { FeedbackLabel, OutputTensor, PredictOptions } from '../../protocol/predict.ts';
import type { BackendName, SyncResult } from '../../protocol/worker-api.ts';
import type { EdgeloopClient } from '../sdk/client.ts';
import { type PredictInput, toModelInput } from '../sdk/input.ts';
import type { ClientOptions } from '../sdk/options.ts';
import { type EmbedOptions, parseEmbedOptions } from './options.ts';

/** `Edgeloop.predict`'s answer; `id` is what `Edgeloop.feedback` takes. */
export interface Prediction {
  id: string;
  /** The first output's values, flat. */
  outputs: number[];
  /** Every output by its manifest name. */
  tensors: Record<string, OutputTensor>;
  /** The index of the first output's highest value: a classifier's class. */
  label: number;
  /** That class's name, when the manifest has labels. */
  labelName?: string;
  model: string;
  version: number;
  backend: BackendName;
  latencyMs: number;
}

/** The `ready` event's detail (and `Edgeloop.init`'s answer): which model version runs where. */
export interface Ready {
  /** This device's client id as the edge issued it; null while offline before the first registration. */
  clientId: string | null;
  model: string;
  alias: string;
  version: number;
  backend: BackendName;
}

/** `Edgeloop.sync`'s answer: events sent, acknowledged (`accepted` + `duplicates`), rejected, still pending. */
export type Synced = Omit<SyncResult, 'v'>;

export interface EdgeloopEvents {
  ready: Ready;
  prediction: Prediction;
  synced: Synced;
  error: EdgeloopError;
}
export type EdgeloopEvent = keyof EdgeloopEvents;
type Listener<K extends EdgeloopEvent> = (detail: EdgeloopEvents[K]) => void;

/** The global `Edgeloop` the script tag defines. Every promise rejects with an `EdgeloopError`. */
export interface EdgeloopApi {
  /** The script's version, as in its URL `/embed/<version>/…`. */
  readonly version: string;
  /**
   * Starts the worker and loads the model; needed only when the script tag has no `data-key`.
   *
   * @example
   * await Edgeloop.init({ key: 'el_client_…', model: 'digits', alias: 'production' });
   */
  init(options: EmbedOptions): Promise<Ready>;
  /**
   * Runs the model on one input (a typed array or nested arrays, row-major; or `{ inputName:
   * values }` for a model of several) and records the prediction on the device. Called before
   * the runtime is ready, it waits for it.
   *
   * @example
   * const { id, outputs, version, backend } = await Edgeloop.predict(new Float32Array(784));
   * const { tensors, labelName } = await Edgeloop.predict({ x: [[0.5, 1]], ids: Int32Array.of(3) });
   */
  predict(input: PredictInput, options?: PredictOptions): Promise<Prediction>;
  /**
   * Records the true label of an earlier prediction: a class index, a name of the manifest's labels, or a regression model's true value.
   *
   * @example
   * await Edgeloop.feedback(prediction.id, 7);
   */
  feedback(predictionId: string, label: FeedbackLabel): Promise<void>;
  /**
   * Sends what the device recorded to the edge now (it also syncs on its own, and on page hide).
   *
   * @example
   * const { sent, accepted, duplicates, pending } = await Edgeloop.sync();
   */
  sync(): Promise<Synced>;
  /**
   * Calls `listener` on each event; returns the function that stops it. A `ready` listener
   * added after the runtime is ready is called at once.
   *
   * @example
   * Edgeloop.on('prediction', ({ id, outputs }) => console.log(id, outputs));
   * Edgeloop.on('error', (error) => console.warn(error.code, error.message));
   */
  on<K extends EdgeloopEvent>(type: K, listener: Listener<K>): () => void;
  /**
   * Stops a listener added with `on`.
   *
   * @example
   * Edgeloop.off('prediction', onPrediction);
   */
  off<K extends EdgeloopEvent>(type: K, listener: Listener<K>): void;
}

export interface EmbedDeps {
  version: string;
  /** The URL the script came from: the default endpoint's origin, and where the tfjs .wasm files are. */
  scriptUrl: string;
  createClient(options: ClientOptions): Promise<EdgeloopClient>;
}

/**
 * The `Edgeloop` object over an SDK client it starts on `init`; calls made before then wait.
 *
 * @example
 * const edgeloop = createEdgeloop({ version: '0.1.0', scriptUrl, createClient: (o) => createClientWith(start, o) });
 */
export function createEdgeloop(deps: EmbedDeps): EdgeloopApi {
  const listeners = new Map<EdgeloopEvent, Set<Listener<never>>>();
  let ready: Ready | null = null;
  let initialised = false;
  let initFailure: EdgeloopError | null = null;
  let settle: { resolve(client: EdgeloopClient): void; reject(error: EdgeloopError): void } | null = null;
  const started = new Promise<EdgeloopClient>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Observed by calls when they come; without this a failed start with none waiting is "unhandled".
  started.catch(() => undefined);

  function emit<K extends EdgeloopEvent>(type: K, detail: EdgeloopEvents[K]): void {
    const set = listeners.get(type) as Set<Listener<K>> | undefined;
    if (type === 'error' && !set?.size) console.error('Edgeloop:', detail);
    for (const listener of set ?? []) {
      try {
        listener(detail);
      } catch (error) {
        // A host page's listener that throws must not break the call that emitted.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  async function guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (caught) {
      const error = EdgeloopError.from(caught);
      // The start's failure is emitted once, by start; calls that waited for it only reject.
      if (error !== initFailure) emit('error', error);
      throw error;
    }
  }

  async function start(options: EmbedOptions): Promise<Ready> {
    const { model, alias, endpoint, ...rest } = parseEmbedOptions(options);
    if (initialised) {
      throw new EdgeloopError('INVALID_INPUT', 'Edgeloop.init: already started (by data-key or an earlier init)');
    }
    initialised = true;
    try {
      const client = await deps.createClient({
        ...rest,
        endpoint: endpoint ?? new URL(deps.scriptUrl).origin,
        wasmPath: new URL('/tfjs/', deps.scriptUrl).href,
      });
      try {
        const loaded = await client.load({ model, alias });
        ready = { clientId: client.clientId, model, alias, version: loaded.version, backend: loaded.backend.backend };
        settle?.resolve(client);
        emit('ready', ready);
        return ready;
      } catch (error) {
        client.close();
        throw error;
      }
    } catch (caught) {
      initFailure = EdgeloopError.from(caught);
      settle?.reject(initFailure);
      emit('error', initFailure);
      throw initFailure;
    }
  }

  const api: EdgeloopApi = {
    version: deps.version,
    init: (options) => guard(() => start(options)),
    predict: (input, options) =>
      guard(async () => {
        // Checked at once, ready or not (the SDK checks it again as it copies it for the worker).
        toModelInput(input);
        const result = await (await started).predict(input, options);
        const { predictionId: id, outputs, tensors, label, labelName, model, version, backend, latencyMs } = result;
        const named = labelName === undefined ? {} : { labelName };
        const prediction = { id, outputs, tensors, label, ...named, model, version, backend, latencyMs };
        emit('prediction', prediction);
        return prediction;
      }),
    feedback: (predictionId, label) => guard(async () => (await started).feedback(predictionId, label)),
    sync: () =>
      guard(async () => {
        const { v: _, ...synced } = await (await started).sync();
        emit('synced', synced);
        return synced;
      }),
    on(type, listener) {
      const set = listeners.get(type) ?? new Set();
      listeners.set(type, set.add(listener as Listener<never>));
      const current = ready;
      if (type === 'ready' && current) queueMicrotask(() => (listener as Listener<'ready'>)(current));
      return () => api.off(type, listener);
    },
    off(type, listener) {
      listeners.get(type)?.delete(listener as Listener<never>);
    },
  };
  return api;
}
