import type { Scope } from '../../protocol/keys.ts';
import type { InferenceNote } from './infer/measure.ts';

/** The API key behind a request, set by the auth middleware. */
export interface Caller {
  keyId: string;
  scopes: readonly Scope[];
}

/** Hono environment of the Edgeloop Worker: bindings from wrangler.toml, per-request variables. */
export type AppEnv = {
  Bindings: Env;
  /** `inference`: set by /v2 infer handlers for the metrics middleware (infer/measure.ts). */
  Variables: { caller: Caller; inference?: InferenceNote };
};
