/** Exit codes: 1 when the edge refused or failed, 2 for a usage error (bad flag, unknown command). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the CLI reports as one line and an exit code; `main.ts` prints it. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;
  /** The edge's error code when the edge answered `{"error": {code, message}}`. */
  readonly code: string | undefined;

  constructor(message: string, exitCode: number = EXIT_FAILURE, code?: string) {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** A usage error: a bad or missing flag or argument. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}
