import {
  OipInferRequest,
  OipInferResponse,
  OipLive,
  OipModelMetadata,
  OipModelReady,
  OipReady,
  OipServerMetadata,
} from '../../../protocol/oip.ts';
import type { Operation } from './operation.ts';

/** Open Inference Protocol v2: errors are {"error": "…"} with the code in Edgeloop-Error-Code. */
export const oipOperations: readonly Operation[] = [
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
