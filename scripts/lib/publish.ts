import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { AliasInfo, ErrorBody, Manifest, ModelList, PublishResult } from '../../protocol/index.ts';

/** A thin HTTP client for the registry routes `npm start` needs. */
export class RegistryClient {
  readonly endpoint: string;
  readonly key: string;

  constructor(endpoint: string, key: string) {
    this.endpoint = endpoint;
    this.key = key;
  }

  async request<T>(schema: v.GenericSchema<unknown, T>, path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(new URL(path, this.endpoint), {
      ...init,
      headers: { authorization: `Bearer ${this.key}`, ...init.headers },
    });
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const error = v.safeParse(ErrorBody, body);
      const detail = error.success ? `${error.output.error.code}: ${error.output.error.message}` : `HTTP ${res.status}`;
      throw new Error(`${init.method ?? 'GET'} ${path} failed: ${detail}`);
    }
    return v.parse(schema, body);
  }

  listModels(): Promise<ModelList> {
    return this.request(ModelList, '/v1/models');
  }

  /** Publishes the manifest and every file it lists from `dir` as the model's next version. */
  publishDir(dir: string): Promise<PublishResult> {
    const manifest = v.parse(Manifest, JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    const form = new FormData();
    form.set('manifest', new Blob([JSON.stringify(manifest)], { type: 'application/json' }));
    for (const file of manifest.files) form.set(file.path, new Blob([readFileSync(join(dir, file.path))]), file.path);
    return this.request(PublishResult, `/v1/models/${manifest.name}/versions`, { method: 'POST', body: form });
  }

  setAlias(model: string, alias: string, version: number, reason: string): Promise<AliasInfo> {
    return this.request(AliasInfo, `/v1/models/${model}/aliases/${alias}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version, reason }),
    });
  }
}
