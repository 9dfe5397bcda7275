import * as v from 'valibot';
import { expect } from 'vitest';
import { ModelCard } from '../../protocol/card.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { ADMIN_KEY, api, publish } from './helpers.ts';

export const path = (model: string, version: number | string) => `/v1/models/${model}/versions/${version}/card`;

/** The card of model@version, read with `key` and checked against its schema. */
export async function card(model: string, version: number, key = ADMIN_KEY): Promise<ModelCard> {
  const res = await api(path(model, version), { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return v.parse(ModelCard, await res.json());
}

export async function published(model: string, files: Record<string, Uint8Array>, man?: Manifest): Promise<number> {
  const res = await publish(model, files, man);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { version: number }).version;
}

export async function ok(res: Promise<Response>): Promise<unknown> {
  const answer = await res;
  expect(answer.status, await answer.clone().text()).toBeLessThan(300);
  return answer.json();
}

/** The cells of a Markdown table row: split on `|` not escaped by a backslash. */
export const cells = (line: string) =>
  line
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((cell) => cell.trim());

/** The lines of a Markdown section, from its `## heading` to the next. */
export function section(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((line) => line !== '');
}
