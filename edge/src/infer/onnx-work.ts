import type { OnnxGraph } from '../../../models/onnx/read.ts';
import { readOnnx } from '../../../models/onnx/read.ts';
import { onnxWork } from '../../../models/onnx/work.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { Tensor } from '../../../protocol/oip-tensor.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { ApiError } from '../http/api-error.ts';
import { readVerifiedBlob } from '../storage/verify.ts';

// An ONNX model runs in the ORT Worker, which counts nothing: its work is estimated here from
// its graph (models/onnx/work.ts: shapes propagated from the request's own inputs), read once
// per isolate. Only the graph's structure is kept, never the weights.

/** Graphs read in this isolate, by the file's sha256, most recently used last. */
const graphs = new Map<string, Promise<OnnxGraph>>();
const MAX_GRAPHS = 16;

async function graphOf(bucket: R2Bucket, sha256: string, label: string): Promise<OnnxGraph> {
  let graph = graphs.get(sha256);
  if (graph) graphs.delete(sha256);
  else {
    graph = readVerifiedBlob(bucket, sha256, `${label} model`).then((bytes) => readOnnx(bytes));
    graph.catch(() => graphs.delete(sha256));
  }
  graphs.set(sha256, graph);
  for (const key of graphs.keys()) {
    if (graphs.size <= MAX_GRAPHS) break;
    graphs.delete(key);
  }
  return graph;
}

/**
 * Work units of one example of `inputs` through a version's ONNX model (format `onnx`).
 *
 * @example
 * const perExample = await onnxModelWork(env.ARTIFACTS, info, inputs);
 */
export async function onnxModelWork(bucket: R2Bucket, info: VersionInfo, inputs: readonly Tensor[]): Promise<number> {
  const label = `${info.model} v${info.version}`;
  const path = info.manifest.files.find((f) => f.role === 'model')?.path;
  const file = info.files.find((f) => f.path === path);
  if (!file) throw new ApiError(500, ErrorCode.INTERNAL, `${label} has no file with role "model"`);
  const graph = await graphOf(bucket, file.sha256, label);
  // Batch 1: the work of one example, at the request's own sizes.
  const shapes = Object.fromEntries(
    info.manifest.inputs.map((spec, i) => [spec.name, [1, ...(inputs[i]?.shape.slice(1) ?? [])]]),
  );
  return Math.max(1, Math.ceil(onnxWork(graph, shapes).perExample));
}
