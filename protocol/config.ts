import * as v from 'valibot';
import { AliasName, ModelName } from './names.ts';

/** `GET /config.json`: what the demo app needs to reach this edge (client keys are publishable). */
export const ClientConfig = v.object({
  v: v.literal(1),
  endpoint: v.pipe(v.string(), v.url()),
  clientKey: v.string(),
  model: ModelName,
  alias: AliasName,
});
export type ClientConfig = v.InferOutput<typeof ClientConfig>;
