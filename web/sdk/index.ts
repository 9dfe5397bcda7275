// The page-side SDK: everything a host page needs to run Edgeloop in a worker.

export type { EraseReceipt, EraseResult } from '../../protocol/clients.ts';
export { EdgeloopError, ErrorCode } from '../../protocol/errors.ts';
export type { FederatedStatus, ParticipateResult } from '../../protocol/participate.ts';
export type { FeedbackLabel, OutputTensor, PredictOptions, PredictResult } from '../../protocol/predict.ts';
export type { RevertResult, Suggestion, SuggestResult, TrainProgress, TrainResult } from '../../protocol/train.ts';
export type {
  BackendName,
  BackendPreference,
  BackendReport,
  BenchmarkResult,
  LoadResult,
  RefreshResult,
  StorageState,
  SyncResult,
  SyncState,
  SyncTrigger,
  WorkerStatus,
} from '../../protocol/worker-api.ts';
export { createClient, type EdgeloopClient, type Unversioned } from './client.ts';
export type { InputValues, PredictInput } from './input.ts';
export { ClientOptions } from './options.ts';
export type { BackgroundSyncState } from './page-sync.ts';
