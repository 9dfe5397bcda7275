import * as Comlink from 'comlink';
import { registerErrorTransfer } from '../../protocol/error-transfer.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { WorkerApi } from '../../protocol/worker-api.ts';

export type RemoteApi = Comlink.Remote<WorkerApi>;

/** One started worker. Every call resolves, or rejects with an EdgeloopError; none hangs once it is closed. */
export interface Connection {
  call<T>(run: (api: RemoteApi) => Promise<T>): Promise<T>;
  close(): void;
}

/**
 * Starts an Edgeloop worker with `startWorker` and runs `start` (the SDK's `init`) on it. A worker
 * whose script fails to load never answers comlink, so its `error` event rejects the
 * start instead of leaving it pending; after a successful start, errors belong to calls.
 */
export async function connect<T>(
  start: (api: RemoteApi) => Promise<T>,
  startWorker: () => Worker,
): Promise<{ connection: Connection; started: T }> {
  // Errors cross with their codes (the worker registers the same handler).
  registerErrorTransfer(Comlink.transferHandlers);
  const worker = startWorker();
  const api = Comlink.wrap<WorkerApi>(worker);
  let ended: EdgeloopError | null = null;
  let rejectEnded: (error: EdgeloopError) => void = () => {};
  const endedPromise = new Promise<never>((_, reject) => {
    rejectEnded = reject;
  });
  // Observed only by calls in flight; without this an end with none in flight is "unhandled".
  endedPromise.catch(() => {});
  const end = (error: EdgeloopError) => {
    if (ended) return;
    ended = error;
    rejectEnded(error);
    api[Comlink.releaseProxy]();
    worker.terminate();
  };

  const connection: Connection = {
    async call(run) {
      if (ended) throw ended;
      try {
        return await Promise.race([run(api), endedPromise]);
      } catch (error) {
        throw EdgeloopError.from(error);
      }
    },
    close() {
      end(new EdgeloopError('NOT_INITIALIZED', 'this Edgeloop client was closed'));
    },
  };

  const onStartError = (event: Event) => {
    const detail = event instanceof ErrorEvent && event.message ? event.message : 'its script could not be loaded';
    end(new EdgeloopError('INTERNAL', `the Edgeloop worker failed to start: ${detail}`));
  };
  worker.addEventListener('error', onStartError);
  try {
    const started = await connection.call(start);
    return { connection, started };
  } catch (error) {
    connection.close();
    throw error;
  } finally {
    worker.removeEventListener('error', onStartError);
  }
}
