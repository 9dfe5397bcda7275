import type { GenericSchema } from 'valibot';
import type { Scope } from '../../../protocol/keys.ts';

/** One documented route: the same valibot schemas the handlers validate with. */
export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch';
  /** OpenAPI path template, e.g. `/v1/models/{model}`. */
  path: string;
  summary: string;
  /** Scopes any one of which is enough; none for public routes. */
  scopes: readonly Scope[];
  /** JSON body, or 'multipart' for the publish form. */
  body?: GenericSchema | 'multipart';
  response?: GenericSchema;
  /** Success status, 200 unless given; 'bytes' answers a file, 'text' plain text (Prometheus). */
  status?: 200 | 201;
  bytes?: true;
  text?: true;
  query?: readonly string[];
}

export const READ = ['read'] as const;
export const PUBLISH = ['publish'] as const;
