/**
 * Stable error codes shared by the edge, the worker and the SDK. A code never changes
 * meaning once released; add new ones instead.
 */
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  INVALID_BODY: 'INVALID_BODY',
  INVALID_MANIFEST: 'INVALID_MANIFEST',
  /** A published model file is not a model of its format (model.json's topology or weights, an ONNX file's ModelProto). */
  INVALID_MODEL: 'INVALID_MODEL',
  INVALID_NAME: 'INVALID_NAME',
  INVALID_EVENT: 'INVALID_EVENT',
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  MISSING_FILE: 'MISSING_FILE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  VERSION_NOT_FOUND: 'VERSION_NOT_FOUND',
  ALIAS_NOT_FOUND: 'ALIAS_NOT_FOUND',
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  CLIENT_NOT_FOUND: 'CLIENT_NOT_FOUND',
  RUN_NOT_FOUND: 'RUN_NOT_FOUND',
  RUN_FINISHED: 'RUN_FINISHED',
  VERSION_ARCHIVED: 'VERSION_ARCHIVED',
  VERSION_IN_USE: 'VERSION_IN_USE',
  NOTHING_TO_ROLL_BACK: 'NOTHING_TO_ROLL_BACK',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  INVALID_PROFILE: 'INVALID_PROFILE',
  /** A model uses something a converter (e.g. the ONNX export) cannot translate faithfully. */
  UNSUPPORTED_MODEL: 'UNSUPPORTED_MODEL',
  PROFILE_MISMATCH: 'PROFILE_MISMATCH',
  NO_REFERENCE: 'NO_REFERENCE',
  SEQ_GAP: 'SEQ_GAP',
  RATE_LIMITED: 'RATE_LIMITED',
  /** One request asks for more work (examples × explain steps × model size) than a request may cost. */
  TOO_COSTLY: 'TOO_COSTLY',
  INVALID_CLIENT_TOKEN: 'INVALID_CLIENT_TOKEN',
  CLIENT_REVOKED: 'CLIENT_REVOKED',
  /** No round with that id for the model. */
  ROUND_NOT_FOUND: 'ROUND_NOT_FOUND',
  /** The round takes no more updates (closed, cancelled, past its deadline or full). */
  ROUND_CLOSED: 'ROUND_CLOSED',
  /** An open round already exists for the model (one at a time). */
  ROUND_OPEN: 'ROUND_OPEN',
  /** An update that cannot be aggregated: wrong length, NaN or Infinity, too few examples. */
  INVALID_UPDATE: 'INVALID_UPDATE',
  /** The client already sent a different update to this round. */
  DUPLICATE_UPDATE: 'DUPLICATE_UPDATE',
  INTERNAL: 'INTERNAL',
  // client side (worker / SDK)
  NOT_INITIALIZED: 'NOT_INITIALIZED',
  MODEL_NOT_LOADED: 'MODEL_NOT_LOADED',
  INVALID_INPUT: 'INVALID_INPUT',
  UNKNOWN_PREDICTION: 'UNKNOWN_PREDICTION',
  NO_FEEDBACK: 'NO_FEEDBACK',
  /** The caller stopped the work (e.g. an AbortSignal on train); nothing it would have changed changed. */
  CANCELLED: 'CANCELLED',
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  NETWORK: 'NETWORK',
  EDGE_ERROR: 'EDGE_ERROR',
  STORAGE: 'STORAGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Whether `value` is one of the codes above. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCode, value);
}

/**
 * The one error type Edgeloop throws on the client: a stable `code` from {@link ErrorCode} and a
 * message for people, apart. It crosses comlink with its code by the transfer handler in
 * `error-transfer.ts`; `String(error)` is `[CODE] message`.
 *
 * @example
 * try { await client.feedback('nope', 3) }
 * catch (e) { if (e instanceof EdgeloopError && e.code === 'UNKNOWN_PREDICTION') … }
 */
export class EdgeloopError extends Error {
  override readonly name = 'EdgeloopError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** One line for people: `[CODE] message`. */
  override toString(): string {
    return `[${this.code}] ${this.message}`;
  }

  /**
   * An EdgeloopError for anything caught: itself; one rebuilt from an Error that crossed a thread
   * without the transfer handler (its `name` and `code` properties survive); else INTERNAL,
   * keeping the original as `cause`.
   */
  static from(error: unknown): EdgeloopError {
    if (error instanceof EdgeloopError) return error;
    const code = (error as { code?: unknown } | null)?.code;
    if (error instanceof Error && error.name === 'EdgeloopError' && isErrorCode(code)) {
      return new EdgeloopError(code, error.message, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new EdgeloopError(ErrorCode.INTERNAL, message, { cause: error });
  }
}
