import * as v from 'valibot';
import { EdgeloopError } from '../../protocol/errors.ts';
import { PredictOptions } from '../../protocol/predict.ts';
import { InitOptions } from '../../protocol/worker-api.ts';

/** What a host page passes to `createClient`: the worker's InitOptions less `v`, which the SDK fills in. */
export const ClientOptions = v.omit(InitOptions, ['v']);
export type ClientOptions = v.InferInput<typeof ClientOptions>;

/**
 * Checks host-page input before the SDK starts a worker or stores anything, so a typo in
 * an embedding page fails at once with INVALID_INPUT naming the field.
 *
 * @example
 * parseClientOptions({ endpoint: 'nope', key: 'k' }); // throws EdgeloopError INVALID_INPUT: "options.endpoint: Invalid URL…"
 */
export function parseClientOptions(options: unknown): v.InferOutput<typeof ClientOptions> {
  return parseOptions(ClientOptions, options);
}

/**
 * Checks `predict`'s options page-side (shape only: which names the model takes is checked in
 * the worker against its manifest).
 *
 * @example
 * parsePredictOptions({ features: { pressure: Number.NaN } }); // throws EdgeloopError INVALID_INPUT: "options.features.pressure: …"
 */
export function parsePredictOptions(options: unknown): v.InferOutput<typeof PredictOptions> {
  return parseOptions(PredictOptions, options);
}

function parseOptions<S extends v.GenericSchema>(schema: S, options: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, options);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = v.getDotPath(issue);
  throw new EdgeloopError('INVALID_INPUT', `options${path ? `.${path}` : ''}: ${issue.message}`);
}
