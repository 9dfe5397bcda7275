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
import { type Operation, READ } from './operation.ts';

/** Federated rounds and the alias policies that open and roll them out. */
export const roundOperations: readonly Operation[] = [
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
];
