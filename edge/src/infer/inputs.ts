import * as v from 'valibot';
import { EdgeloopError, ErrorCode } from '../../../protocol/errors.ts';
import { EdgeloopInferParameters, type OipInferRequest, oipMetadata } from '../../../protocol/oip.ts';
import { readInput, type Tensor } from '../../../protocol/oip-tensor.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { ApiError } from '../http/api-error.ts';
import { describeIssues } from '../http/issues.ts';

const badInput = (message: string) => new ApiError(400, ErrorCode.INVALID_INPUT, message);

/**
 * The request's inputs in the model's order, each checked against the version's metadata
 * (names, datatype, shape, data), and the outputs it asks for checked to exist.
 *
 * @example
 * const inputs = readInputs(body, info); // [{ shape: [1, 28, 28, 1], data: Float32Array }]
 */
export function readInputs(body: OipInferRequest, info: VersionInfo): Tensor[] {
  const metadata = oipMetadata(info.manifest, info.version);
  const given = new Map<string, OipInferRequest['inputs'][number]>();
  for (const input of body.inputs) {
    if (given.has(input.name)) throw badInput(`input "${input.name}" is given twice`);
    if (!metadata.inputs.some((spec) => spec.name === input.name)) {
      throw badInput(`the model has no input "${input.name}"; it takes ${metadata.inputs.map((i) => `"${i.name}"`)}`);
    }
    given.set(input.name, input);
  }
  const tensors = metadata.inputs.map((spec) => {
    const input = given.get(spec.name);
    if (!input) throw badInput(`input "${spec.name}" is missing`);
    try {
      return readInput(input, spec);
    } catch (error) {
      throw error instanceof EdgeloopError ? badInput(error.message) : error;
    }
  });
  if (new Set(tensors.map((t) => t.shape[0])).size > 1) throw badInput('the inputs have different batch sizes');
  if (tensors[0]?.shape[0] === 0) throw badInput('the batch is empty: send at least one example');
  for (const output of body.outputs ?? []) {
    if (!metadata.outputs.some((spec) => spec.name === output.name)) {
      throw badInput(`the model has no output "${output.name}"`);
    }
  }
  return tensors;
}

/**
 * The request parameters Edgeloop acts on (runtime, explain); the rest are the caller's.
 *
 * @example
 * readParameters({ parameters: { runtime: 'onnx' } }); // { runtime: 'onnx' }
 */
export function readParameters(body: Pick<OipInferRequest, 'parameters'>): EdgeloopInferParameters {
  const parsed = v.safeParse(EdgeloopInferParameters, body.parameters ?? {});
  if (!parsed.success) throw new ApiError(400, ErrorCode.INVALID_BODY, describeIssues(parsed.issues, 'parameters'));
  return parsed.output;
}
