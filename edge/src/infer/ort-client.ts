import * as v from 'valibot';
import { ErrorCode } from '../../../protocol/errors.ts';
import {
  type OrtCheckRequest,
  type OrtFailure,
  type OrtRunOk,
  type OrtRunRequest,
  OrtRunResult,
} from '../../../protocol/ort.ts';
import { ApiError } from '../http/api-error.ts';

// The edge Worker's side of the service binding to edgeloop-ort (edge/ort/). The ORT Worker
// decides what kind each failure is; this maps kinds to HTTP errors.

const toApiError = (kind: OrtFailure, message: string): ApiError => {
  switch (kind) {
    case 'INVALID_INPUT':
      return new ApiError(400, ErrorCode.INVALID_INPUT, message);
    case 'DIGEST_MISMATCH':
      return new ApiError(500, ErrorCode.DIGEST_MISMATCH, message);
    default:
      return new ApiError(500, ErrorCode.INTERNAL, message);
  }
};

/**
 * Runs an ONNX model in the ORT Worker and returns its outputs, checked against protocol/ort.ts.
 * Throws ApiError: 400 INVALID_INPUT when the inputs do not fit the model; 500 INTERNAL when the
 * model's file is missing, ORT cannot load it, or the binding fails; 500 DIGEST_MISMATCH when
 * the stored file does not match its sha256. Messages start with `label`.
 *
 * @example
 * const { outputs } = await runOnnx(c.env.ORT, { v: 1, sha256, inputs: [{ name: 'image', shape, data }] }, 'digits v3');
 */
export async function runOnnx(ort: Env['ORT'], request: OrtRunRequest, label = 'ONNX model'): Promise<OrtRunOk> {
  // A typed array crosses the binding with its whole buffer: send views on their own.
  const inputs = request.inputs.map(ownBuffer);
  const result = await call(() => ort.run({ ...request, inputs }), label);
  if (!result.ok) throw toApiError(result.error.kind, `${label}: ${result.error.message}`);
  return result;
}

/**
 * Loads a model that is not stored yet (a version being published) in the ORT Worker and runs it
 * once on trial inputs. Throws 400 INVALID_MODEL when ORT cannot load the model or run it on
 * inputs of the manifest's shapes, 500 INTERNAL when the service fails.
 *
 * @example
 * const { outputs } = await checkOnnx(c.env.ORT, { v: 1, model: bytes, inputs }, 'model.onnx');
 */
export async function checkOnnx(ort: Env['ORT'], request: OrtCheckRequest, label: string): Promise<OrtRunOk> {
  const result = await call(() => ort.check({ ...request, inputs: request.inputs.map(ownBuffer) }), label);
  if (result.ok) return result;
  const { kind, message } = result.error;
  if (kind === 'MODEL_LOAD' || kind === 'INVALID_INPUT') {
    throw new ApiError(400, ErrorCode.INVALID_MODEL, `${label}: ONNX Runtime cannot run it: ${message}`);
  }
  throw toApiError(kind, `${label}: ${message}`);
}

function ownBuffer<T extends OrtRunRequest['inputs'][number]>(input: T): T {
  const { data } = input;
  return Array.isArray(data) || data.byteLength === data.buffer.byteLength ? input : { ...input, data: data.slice() };
}

/** One call of the binding, its answer checked against protocol/ort.ts. */
async function call(send: () => Promise<unknown>, label: string): Promise<OrtRunResult> {
  let answer: unknown;
  try {
    answer = await send();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ApiError(500, ErrorCode.INTERNAL, `${label}: the ONNX Runtime service failed: ${message}`);
  }
  const parsed = v.safeParse(OrtRunResult, answer);
  if (!parsed.success) {
    throw new ApiError(500, ErrorCode.INTERNAL, `${label}: the ONNX Runtime service answered out of protocol`);
  }
  return parsed.output;
}
