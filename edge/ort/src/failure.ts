import type { OrtFailure } from '../../../protocol/ort.ts';

/**
 * A failed run and its kind, decided where it happens (reading the blob, creating the session,
 * checking the feeds, running). The entrypoint answers it as `{ ok: false, error }`.
 *
 * @example
 * throw new OrtError('INVALID_INPUT', 'input "x" has shape [2,5]; the model takes [N,4]');
 */
export class OrtError extends Error {
  override readonly name = 'OrtError';
  readonly kind: OrtFailure;

  constructor(kind: OrtFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * ORT's message without its wrapper and the C++ source location and signature it names, e.g.
 * "failed to call OrtRun(). ERROR_CODE: 1, ERROR_MESSAGE: /…/element_wise_ops.h:583 void
 * onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t) axis == 1 … was false. Attempting…"
 */
const clean = (message: string): string =>
  message
    .replace(/^.*?ERROR_MESSAGE: /s, '')
    .replace(/^\S+\.(?:h|cc|cpp):\d+ [^(]*\([^)]*\)\s+/, '')
    .trim();

// What ORT says when the caller's tensors do not fit the graph (checked before running, so
// these are what the pre-check cannot see, e.g. a dimension two inputs must share).
const INPUT_ERRORS = [
  /invalid dimensions/i,
  /invalid rank/i,
  /dims? mismatch/i,
  /shape mismatch/i,
  /incompatible dimensions/i,
  /broadcast/i,
  /missing in 'feeds'/i,
  /not a valid (input|output) name/i,
  /unexpected input data type/i,
  /tensor's size\(\d+\) does not match/i,
];

/**
 * The one place ORT's own errors are translated: an error from `session.run` is INVALID_INPUT
 * when ORT blames the feeds, INTERNAL otherwise.
 */
export function runFailure(error: unknown): OrtError {
  if (error instanceof OrtError) return error;
  const message = clean(messageOf(error));
  const kind = INPUT_ERRORS.some((re) => re.test(message)) ? 'INVALID_INPUT' : 'INTERNAL';
  return new OrtError(kind, `ONNX Runtime: ${message}`, { cause: error });
}

/** An error from `InferenceSession.create`: ORT failing to start is INTERNAL, a model it refuses MODEL_LOAD. */
export function loadFailure(error: unknown, label: string): OrtError {
  if (error instanceof OrtError) return error;
  const message = clean(messageOf(error));
  const startup = /initWasm|no available backend|Aborted\(|CompileError/i.test(message);
  return startup
    ? new OrtError('INTERNAL', `ONNX Runtime could not start in this Worker: ${message}`, { cause: error })
    : new OrtError('MODEL_LOAD', `ONNX Runtime could not load ${label}: ${message}`, { cause: error });
}
