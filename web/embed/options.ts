import * as v from 'valibot';
import { EdgeloopError } from '../../protocol/errors.ts';
import { AliasName, ModelName } from '../../protocol/names.ts';
import { InitOptions } from '../../protocol/worker-api.ts';

/**
 * What a host page passes to `Edgeloop.init` (or writes as `data-*` attributes). `endpoint`
 * defaults to the origin the script came from; `runtime` picks tfjs (the default) or the
 * version's ONNX export on ONNX Runtime Web. No `wasmPath`: the worker takes tfjs's and ORT's
 * files from the edge that served it.
 */
export const EmbedOptions = v.strictObject({
  ...v.pick(InitOptions, ['key', 'backend', 'runtime', 'dbName', 'shareFeatures']).entries,
  endpoint: v.optional(InitOptions.entries.endpoint),
  model: ModelName,
  alias: v.optional(AliasName, 'production'),
});
export type EmbedOptions = v.InferInput<typeof EmbedOptions>;

/** The `data-*` attributes of the script tag, by `dataset` name, and the option each sets. */
const ATTRIBUTES = {
  endpoint: 'endpoint',
  key: 'key',
  model: 'model',
  alias: 'alias',
  backend: 'backend',
  runtime: 'runtime',
  db: 'dbName',
};

/**
 * Checks what the host page gave before anything starts, so a typo fails at once with
 * INVALID_INPUT naming the option.
 *
 * @example
 * parseEmbedOptions({ key: 'k' }); // throws EdgeloopError INVALID_INPUT: "Edgeloop.init: model: Invalid type…"
 */
export function parseEmbedOptions(options: unknown, where = 'Edgeloop.init'): v.InferOutput<typeof EmbedOptions> {
  const result = v.safeParse(EmbedOptions, options);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = v.getDotPath(issue);
  throw new EdgeloopError('INVALID_INPUT', `${where}: ${path ? `${path}: ` : ''}${issue.message}`);
}

/**
 * The options the script tag's attributes give, or null when it has no `data-key` (the page
 * then calls `Edgeloop.init`). Attributes not listed here are left to the page.
 *
 * @example
 * optionsFromAttributes({ key: 'el_client_…', model: 'digits' }); // { key: 'el_client_…', model: 'digits' }
 */
export function optionsFromAttributes(dataset: Record<string, string | undefined>): Record<string, string> | null {
  if (dataset.key === undefined) return null;
  const options: Record<string, string> = {};
  for (const [attribute, option] of Object.entries(ATTRIBUTES)) {
    const value = dataset[attribute];
    if (value !== undefined) options[option] = value;
  }
  return options;
}
