import { EdgeloopError } from '../../protocol/errors.ts';

/**
 * Translates an error thrown by tfjs into an EdgeloopError. This is the one place that reads
 * tfjs's messages, so a tfjs upgrade that rewords them is fixed here only.
 */
export function tfjsError(context: string, error: unknown): EdgeloopError {
  if (error instanceof EdgeloopError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const kernel = /Kernel '([^']+)' not registered for backend '([^']+)'/.exec(message);
  if (kernel) {
    return new EdgeloopError('BACKEND_UNAVAILABLE', `${context}: backend ${kernel[2]} lacks kernel ${kernel[1]}`, {
      cause: error,
    });
  }
  const missing = /Backend name '([^']+)' not found in registry/.exec(message);
  if (missing) {
    return new EdgeloopError('BACKEND_UNAVAILABLE', `${context}: tfjs has no backend ${missing[1]}`, { cause: error });
  }
  return new EdgeloopError('INTERNAL', `${context}: ${message}`, { cause: error });
}

/** Name of the kernel a BACKEND_UNAVAILABLE error says is missing, if that is what it says. */
export function missingKernel(error: EdgeloopError): string | null {
  return error.code === 'BACKEND_UNAVAILABLE' ? (/ lacks kernel (\S+)$/.exec(error.message)?.[1] ?? null) : null;
}

/**
 * Runs tfjs work, translating its failures.
 *
 * @example
 * const probs = await onBackend('predict', () => output.data());
 */
export async function onBackend<T>(context: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw tfjsError(context, error);
  }
}
