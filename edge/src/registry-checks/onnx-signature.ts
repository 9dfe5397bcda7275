import { type OnnxTensorInfo, readOnnx } from '../../../models/onnx/read.ts';
import type { Manifest } from '../../../protocol/manifest.ts';

// An ONNX model is fed and read by name, in its own element types: the manifest of an `onnx`
// version must describe the graph it ships (as `edgeloop init` writes it from the graph).

/** The element type of each manifest dtype in ONNX's terms. */
const ELEM: Record<Manifest['inputs'][number]['dtype'], string> = {
  float32: 'float32',
  int32: 'int32',
  int64: 'int64',
  uint8: 'uint8',
  bool: 'bool',
};

function tensorProblem(
  spec: Manifest['inputs'][number],
  graph: OnnxTensorInfo,
  where: string,
  path: string,
): string | null {
  if (graph.elemType !== ELEM[spec.dtype]) {
    return `${where}.dtype: ${path} declares "${spec.name}" as ${graph.elemType}, not ${spec.dtype}`;
  }
  if (graph.shape && graph.shape.length !== spec.shape.length) {
    return `${where}.shape: ${path} declares "${spec.name}" with rank ${graph.shape.length} ([${graph.shape.map((d) => d ?? '?')}]), not ${spec.shape.length}`;
  }
  const fixed = graph.shape?.findIndex(
    (d, i) => typeof d === 'number' && d > 0 && (spec.shape[i] ?? -1) >= 0 && spec.shape[i] !== d,
  );
  if (graph.shape && fixed !== undefined && fixed >= 0) {
    return `${where}.shape[${fixed}]: ${path} declares "${spec.name}" with size ${String(graph.shape[fixed])} there, not ${spec.shape[fixed]}`;
  }
  return null;
}

/**
 * Why an ONNX version's manifest does not describe its model, or null: every graph input is a
 * manifest input and each manifest input and output is in the graph, with its element type,
 * rank and fixed sizes (-1 in the manifest takes any). Graphs with weights in external files
 * are refused: a version's model is one file.
 *
 * @example
 * onnxSignatureProblem(bytes, 'model.onnx', manifest); // 'manifest.inputs[0].name: model.onnx has no input "image" (its inputs: "x")'
 */
export function onnxSignatureProblem(bytes: Uint8Array, path: string, manifest: Manifest): string | null {
  let graph: ReturnType<typeof readOnnx>;
  try {
    graph = readOnnx(bytes);
  } catch (error) {
    return `${path} is not an ONNX model: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (graph.externalData) return `${path} keeps weights in external data files; save the model with its weights inside`;
  for (const [side, specs, tensors] of [
    ['inputs', manifest.inputs, graph.inputs],
    ['outputs', manifest.outputs, graph.outputs],
  ] as const) {
    const byName = new Map(tensors.map((t) => [t.name, t]));
    for (const [i, spec] of specs.entries()) {
      const tensor = byName.get(spec.name);
      const where = `manifest.${side}[${i}]`;
      if (!tensor) {
        return `${where}.name: ${path} has no ${side.slice(0, -1)} "${spec.name}" (its ${side}: ${tensors.map((t) => `"${t.name}"`).join(', ')})`;
      }
      const problem = tensorProblem(spec, tensor, where, path);
      if (problem) return problem;
    }
  }
  const fed = new Set(manifest.inputs.map((s) => s.name));
  const unfed = graph.inputs.find((t) => !fed.has(t.name));
  if (unfed) return `manifest.inputs: ${path} takes the input "${unfed.name}", which the manifest does not list`;
  return null;
}
