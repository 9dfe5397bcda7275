import type { GenericSchema } from 'valibot';
import { ModelCard } from '../../../protocol/card.ts';
import { ClientIdentity, ClientRegistration, EraseReceipt } from '../../../protocol/clients.ts';
import { ClientConfig } from '../../../protocol/config.ts';
import { AlertList, DistributionComparison, WhoAmI } from '../../../protocol/dashboard.ts';
import { DriftAck, DriftWindows } from '../../../protocol/drift.ts';
import { ClientInfo, EventBatch, EventBatchResult } from '../../../protocol/events.ts';
import type { Scope } from '../../../protocol/keys.ts';
import { CreatedKey, CreateKey, KeyInfo, KeyList } from '../../../protocol/keys.ts';
import {
  OipInferRequest,
  OipInferResponse,
  OipLive,
  OipModelMetadata,
  OipModelReady,
  OipReady,
  OipServerMetadata,
} from '../../../protocol/oip.ts';
import { DriftReport, ProfileBatch, ProfileBatchResult } from '../../../protocol/profile/index.ts';
import {
  AliasInfo,
  Health,
  ModelList,
  PublishResult,
  Resolution,
  SetAlias,
  VersionInfo,
  VersionList,
} from '../../../protocol/registry.ts';
import { ArchiveResult, SetRollout } from '../../../protocol/rollout.ts';
import {
  CurrentRound,
  Evaluation,
  EvaluationReceipt,
  OpenRound,
  Policy,
  PolicyInfo,
  Round,
  RoundList,
  UpdateReceipt,
} from '../../../protocol/rounds.ts';
import {
  CreateRun,
  LoggedMetrics,
  LogMetrics,
  MetricSeries,
  Run,
  RunComparison,
  RunList,
  UpdateRun,
} from '../../../protocol/runs.ts';

/** One documented route: the same valibot schemas the handlers validate with. */
export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch';
  /** OpenAPI path template, e.g. `/v1/models/{model}`. */
  path: string;
  summary: string;
  /** Scopes any one of which is enough; none for public routes. */
  scopes: readonly Scope[];
  /** JSON body, or 'multipart' for the publish form. */
  body?: GenericSchema | 'multipart';
  response?: GenericSchema;
  /** Success status, 200 unless given; 'bytes' answers a file, 'text' plain text (Prometheus). */
  status?: 200 | 201;
  bytes?: true;
  text?: true;
  query?: readonly string[];
}

const READ = ['read'] as const;
const PUBLISH = ['publish'] as const;

/** Every route of the API (v1, then OIP v2), in the order of the README's table. */
export const operations: readonly Operation[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness and version', scopes: [], response: Health },
  {
    method: 'get',
    path: '/config.json',
    summary: 'What the demo app needs: endpoint, the publishable client key, model, alias',
    scopes: [],
    response: ClientConfig,
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus text exposition: drift, shadow comparisons, inference requests, latency and cache',
    scopes: READ,
    text: true,
  },
  {
    method: 'get',
    path: '/v1/models',
    summary: 'Models with their aliases and the aliases whose version drifted (attention)',
    scopes: READ,
    response: ModelList,
  },
  {
    method: 'post',
    path: '/v1/models/{model}/versions',
    summary: 'Publish the next immutable version (multipart: manifest + one part per file)',
    scopes: PUBLISH,
    body: 'multipart',
    response: PublishResult,
    status: 201,
  },
  { method: 'get', path: '/v1/models/{model}/versions', summary: 'Versions', scopes: READ, response: VersionList },
  {
    method: 'get',
    path: '/v1/models/{model}/versions/{version}',
    summary: 'Manifest with file digests (client: versions an alias or rollout assigns)',
    scopes: ['read', 'client'],
    response: VersionInfo,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/versions/{version}/files/{path}',
    summary: 'File bytes; ETag is the sha256, cached immutably',
    scopes: ['read', 'client'],
    bytes: true,
  },
  {
    method: 'post',
    path: '/v1/models/{model}/versions/{version}/archive',
    summary: 'Archive a version no alias or rollout uses',
    scopes: PUBLISH,
    response: ArchiveResult,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/versions/{version}/drift',
    summary: 'Drift of the merged client profiles in [from, to) (default the last 24 h) against the reference',
    scopes: READ,
    response: DriftReport,
    query: ['from', 'to'],
  },
  {
    method: 'get',
    path: '/v1/models/{model}/versions/{version}/drift/windows',
    summary: 'One drift report per hour with data in [from, to), for charts',
    scopes: READ,
    response: DriftWindows,
    query: ['from', 'to'],
  },
  {
    method: 'get',
    path: '/v1/models/{model}/versions/{version}/drift/distributions',
    summary: 'Reference and current (merged [from, to)) distribution of each feature, as shares, for charts',
    scopes: READ,
    response: DistributionComparison,
    query: ['from', 'to'],
  },
  {
    method: 'get',
    path: '/v1/models/{model}/versions/{version}/alerts',
    summary: 'The drift alerts of a version, newest window first, with their acknowledgement',
    scopes: READ,
    response: AlertList,
  },
  {
    method: 'post',
    path: '/v1/models/{model}/versions/{version}/drift/ack',
    summary: "Acknowledge the version's open drift alerts (clears its attention)",
    scopes: PUBLISH,
    response: DriftAck,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/versions/{version}/card',
    summary:
      'The model card (Markdown and JSON): manifest, metrics, lineage, runs, round, gate, privacy, aliases, drift',
    scopes: READ,
    response: ModelCard,
  },
  {
    method: 'put',
    path: '/v1/models/{model}/aliases/{alias}',
    summary: 'Move an alias, appending to its history',
    scopes: PUBLISH,
    body: SetAlias,
    response: AliasInfo,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/aliases/{alias}',
    summary: 'An alias: version, rollout, history',
    scopes: READ,
    response: AliasInfo,
  },
  {
    method: 'put',
    path: '/v1/models/{model}/aliases/{alias}/rollout',
    summary: 'Set or clear (`{}`) the canary and shadow of an alias',
    scopes: PUBLISH,
    body: SetRollout,
    response: AliasInfo,
  },
  {
    method: 'post',
    path: '/v1/models/{model}/rounds',
    summary: 'Open a federated round on a base version (default: what the alias serves)',
    scopes: ['publish'],
    body: OpenRound,
    response: Round,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/rounds',
    summary: "The model's rounds, newest first, and the privacy it has spent over them",
    scopes: READ,
    response: RoundList,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/rounds/current',
    summary: 'The open round a device may take part in (round: null when none); counts the device as eligible',
    scopes: ['client'],
    response: CurrentRound,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/rounds/{id}',
    summary: 'A round: status, contributors, examples, privacy spent, candidate, gate decision',
    scopes: READ,
    response: Round,
  },
  {
    method: 'post',
    path: '/v1/models/{model}/rounds/{id}/cancel',
    summary: 'Cancel an open round; its updates are deleted and nothing is released',
    scopes: ['publish'],
    response: Round,
  },
  {
    method: 'post',
    path: '/v1/models/{model}/rounds/{id}/updates',
    summary:
      "A device's clipped weight delta: float32 little-endian values in the base's weights.bin order (application/octet-stream, gzip allowed), Edgeloop-Examples header, Edgeloop-Client-Token",
    scopes: ['client'],
    response: UpdateReceipt,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/rounds/{id}/candidate',
    summary:
      "A gating round's candidate weights (float32 LE, the base's weights order), for its contributors to evaluate",
    scopes: ['client'],
    bytes: true,
  },
  {
    method: 'post',
    path: '/v1/models/{model}/rounds/{id}/evaluations',
    summary: "A contributor's held-out counts of base and candidate (the gate's fleet set), once per client",
    scopes: ['client'],
    body: Evaluation,
    response: EvaluationReceipt,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/aliases/{alias}/policy',
    summary: "The alias's continuous-training policy and the canary it is watching",
    scopes: READ,
    response: PolicyInfo,
  },
  {
    method: 'put',
    path: '/v1/models/{model}/aliases/{alias}/policy',
    summary: 'Set when rounds open, the gate thresholds, the canary share and the promotion rule',
    scopes: ['publish'],
    body: Policy,
    response: PolicyInfo,
  },
  {
    method: 'post',
    path: '/v1/models/{model}/aliases/{alias}/rollback',
    summary: 'Move the alias back to the version it held before',
    scopes: PUBLISH,
    response: AliasInfo,
  },
  {
    method: 'get',
    path: '/v1/models/{model}/resolve',
    summary: 'The version a client gets: stable or canary (sticky per client), and the shadow',
    scopes: ['client', 'read'],
    response: Resolution,
    query: ['alias', 'client'],
  },
  {
    method: 'post',
    path: '/v1/events',
    summary: 'An idempotent batch of one client, applied in seq order (Edgeloop-Client-Token)',
    scopes: ['client'],
    body: EventBatch,
    response: EventBatchResult,
  },
  {
    method: 'post',
    path: '/v1/profiles',
    summary: 'Drift profiles of a client, one per model version and hour, idempotent per id (Edgeloop-Client-Token)',
    scopes: ['client'],
    body: ProfileBatch,
    response: ProfileBatchResult,
  },
  {
    method: 'post',
    path: '/v1/clients',
    summary: 'Register a client: its id and the token its writes carry in Edgeloop-Client-Token',
    scopes: ['client'],
    body: ClientRegistration,
    response: ClientIdentity,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/clients/{clientId}',
    summary: 'What the edge holds for a client',
    scopes: READ,
    response: ClientInfo,
  },
  {
    method: 'post',
    path: '/v1/clients/{clientId}/revoke',
    summary: 'Revoke a client: its writes are refused (403 CLIENT_REVOKED)',
    scopes: ['admin'],
    response: ClientInfo,
  },
  {
    method: 'post',
    path: '/v1/clients/{clientId}/erase',
    summary: 'Erase everything the edge holds of a client (the client with its token, or admin); answers a receipt',
    scopes: ['client', 'admin'],
    response: EraseReceipt,
  },
  {
    method: 'post',
    path: '/v1/keys',
    summary: 'Create a key (shown once)',
    scopes: ['admin'],
    body: CreateKey,
    response: CreatedKey,
    status: 201,
  },
  { method: 'get', path: '/v1/keys', summary: 'Keys, without secrets', scopes: ['admin'], response: KeyList },
  {
    method: 'get',
    path: '/v1/keys/me',
    summary: 'The calling key: its id and scopes (any valid key)',
    scopes: ['admin', 'publish', 'read', 'client'],
    response: WhoAmI,
  },
  { method: 'post', path: '/v1/keys/{id}/revoke', summary: 'Revoke a key', scopes: ['admin'], response: KeyInfo },
  {
    method: 'post',
    path: '/v1/runs',
    summary: 'Create an experiment run',
    scopes: ['publish', 'client'],
    body: CreateRun,
    response: Run,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/runs',
    summary: 'Runs, newest first',
    scopes: READ,
    response: RunList,
    query: ['model', 'status', 'limit', 'cursor'],
  },
  {
    method: 'get',
    path: '/v1/runs/compare',
    summary: 'Runs side by side',
    scopes: READ,
    response: RunComparison,
    query: ['ids'],
  },
  { method: 'get', path: '/v1/runs/{id}', summary: 'A run', scopes: READ, response: Run },
  {
    method: 'patch',
    path: '/v1/runs/{id}',
    summary: 'End a run, add tags, link versions',
    scopes: ['publish', 'client'],
    body: UpdateRun,
    response: Run,
  },
  {
    method: 'post',
    path: '/v1/runs/{id}/metrics',
    summary: 'Append metric points',
    scopes: ['publish', 'client'],
    body: LogMetrics,
    response: LoggedMetrics,
  },
  {
    method: 'get',
    path: '/v1/runs/{id}/metrics/{key}',
    summary: 'A metric series by step',
    scopes: READ,
    response: MetricSeries,
  },
  // Open Inference Protocol v2: errors are {"error": "…"} with the code in Edgeloop-Error-Code.
  { method: 'get', path: '/v2/health/live', summary: 'OIP v2: server liveness', scopes: [], response: OipLive },
  {
    method: 'get',
    path: '/v2/health/ready',
    summary: 'OIP v2: server readiness (the registry answers)',
    scopes: [],
    response: OipReady,
  },
  { method: 'get', path: '/v2', summary: 'OIP v2: server metadata', scopes: [], response: OipServerMetadata },
  {
    method: 'get',
    path: '/v2/models/{model}',
    summary: 'OIP v2: metadata of the version the production alias points at',
    scopes: ['read', 'client'],
    response: OipModelMetadata,
  },
  {
    method: 'get',
    path: '/v2/models/{model}/versions/{version}',
    summary: 'OIP v2: metadata of a version (client: versions an alias or rollout assigns)',
    scopes: ['read', 'client'],
    response: OipModelMetadata,
  },
  {
    method: 'get',
    path: '/v2/models/{model}/ready',
    summary: 'OIP v2: whether the version the production alias points at can be served',
    scopes: ['read', 'client'],
    response: OipModelReady,
  },
  {
    method: 'get',
    path: '/v2/models/{model}/versions/{version}/ready',
    summary: 'OIP v2: whether a version can be served (not archived)',
    scopes: ['read', 'client'],
    response: OipModelReady,
  },
  {
    method: 'post',
    path: '/v2/models/{model}/infer',
    summary:
      'OIP v2: run the version the production alias points at (tfjs on cpu, or its ONNX export with parameters.runtime "onnx"; parameters.explain adds attributions)',
    scopes: ['read', 'client'],
    body: OipInferRequest,
    response: OipInferResponse,
  },
  {
    method: 'post',
    path: '/v2/models/{model}/versions/{version}/infer',
    summary: 'OIP v2: run a version (client: versions an alias or rollout assigns)',
    scopes: ['read', 'client'],
    body: OipInferRequest,
    response: OipInferResponse,
  },
];
