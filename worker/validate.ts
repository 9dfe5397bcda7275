import * as v from 'valibot';
import { EdgeloopError } from '../protocol/errors.ts';

/**
 * Parses a value that entered the worker from the page; failure is INVALID_INPUT naming
 * the field, so the caller sees which argument was wrong.
 *
 * @example
 * const options = parseInput(InitOptions, raw, 'options'); // throws EdgeloopError INVALID_INPUT: "options.endpoint: Invalid URL…"
 */
export function parseInput<S extends v.GenericSchema>(schema: S, value: unknown, field: string): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = v.getDotPath(issue);
  throw new EdgeloopError('INVALID_INPUT', `${path ? `${field}.${path}` : field}: ${issue.message}`);
}
