import * as Comlink from 'comlink';
import type {
  BenchmarkResult,
  LoadOptions,
  LoadResult,
  PredictResult,
  SyncResult,
  TrainOptions,
  TrainProgress,
  TrainResult,
  WorkerStatus,
} from '../../protocol/worker-api.ts';
import { connect } from './connection.ts';
import { type ClientOptions, parseClientOptions, pixelsToTransfer } from './options.ts';

/** Message options without the protocol version: the SDK adds `v: 1` (passing it is allowed). */
export type Unversioned<T> = Omit<T, 'v'> & { v?: 1 };

/**
 * A page's handle on its Edgeloop worker. Every method that rejects does so with an
 * `EdgeloopError`, whose `code` is one of the protocol's stable error codes.
 */
export interface EdgeloopClient {
  /** This device's client id, issued by the edge on first use and kept in IndexedDB. */
  readonly clientId: string;
  /** Resolves the alias on the edge, downloads (or reuses the cached) model and picks a backend. */
  load(options: Unversioned<LoadOptions>): Promise<LoadResult>;
  /** Runs the loaded model on 784 values in [0, 1] (row-major 28×28) and records the prediction. */
  predict(pixels: Float32Array | readonly number[]): Promise<PredictResult>;
  /** Records the true label of an earlier prediction. */
  feedback(predictionId: string, label: number): Promise<void>;
  /** Fine-tunes the loaded model on this device's feedback; `onProgress` is called once per epoch. */
  train(options?: Unversioned<TrainOptions>, onProgress?: (progress: TrainProgress) => void): Promise<TrainResult>;
  /** Sends recorded events waiting in the outbox to the edge. */
  sync(): Promise<SyncResult>;
  status(): Promise<WorkerStatus>;
  /** Times `iterations` predicts inside the worker, without the page ↔ worker hop. */
  benchmark(iterations: number): Promise<BenchmarkResult>;
  /** Terminates the worker; later calls reject with NOT_INITIALIZED. */
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
 * await client.feedback(predictionId, 7);
 * try {
 *   await client.train({ epochs: 3 }, ({ epoch, epochs }) => console.log(`epoch ${epoch}/${epochs}`));
 * } catch (error) {
 *   if (error instanceof EdgeloopError && error.code === 'NO_FEEDBACK') console.log('correct a prediction first');
 * }
 * await client.sync();
 * client.close();
 */
export async function createClient(options: ClientOptions): Promise<EdgeloopClient> {
  const init = { ...parseClientOptions(options), v: 1 as const };
  const { connection, started } = await connect((api) => api.init(init));
  const { call } = connection;
  return {
    clientId: started.clientId,
    load: (load) => call((api) => api.load({ ...load, v: 1 })),
    predict: async (pixels) => {
      const input = pixelsToTransfer(pixels);
      return call((api) => api.predict(Comlink.transfer(input, [input.buffer])));
    },
    feedback: (predictionId, label) => call((api) => api.feedback(predictionId, label)),
    train: (train = {}, onProgress) =>
      call((api) => api.train({ ...train, v: 1 }, onProgress ? Comlink.proxy(onProgress) : undefined)),
    sync: () => call((api) => api.sync()),
    status: () => call((api) => api.status()),
    benchmark: (iterations) => call((api) => api.benchmark(iterations)),
    close: () => connection.close(),
  };
}
