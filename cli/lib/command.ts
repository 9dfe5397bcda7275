import type { ParseArgsConfig } from 'node:util';
import type { EdgeClient } from './client.ts';
import { usageError } from './errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

/** What a command gets: the client, the parsed flags and positionals, and where to write. */
export interface Context {
  client: EdgeClient;
  json: boolean;
  values: Values;
  positionals: string[];
  /** A line of the command's result (stdout). */
  out(line: string): void;
  /** A line of progress (stderr, so that `--json` output stays parseable). */
  info(line: string): void;
}

/** One `edgeloop` command; each lives in its own file under `cli/commands/`. */
export interface Command {
  name: string;
  summary: string;
  /** The `--help` text after the first line: usage lines and flags. */
  help: string;
  options: Options;
  run(ctx: Context): Promise<void>;
}

/** Flags every command takes. */
export const GLOBAL_OPTIONS: Options = {
  endpoint: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const GLOBAL_HELP = `Global flags:
  --endpoint <url>   edge to talk to (env EDGELOOP_ENDPOINT, default http://127.0.0.1:8787)
  --key <key>        API key (env EDGELOOP_KEY)
  --json             machine-readable output
  -h, --help         this help`;

/** The positionals: `required` by name, at most `max` in all; fails on a missing or extra one. */
export function takeArgs(ctx: Context, usage: string, required: string[], max = required.length): string[] {
  const args = ctx.positionals;
  const missing = required[args.length];
  if (missing !== undefined) throw usageError(`missing <${missing}>; usage: ${usage}`);
  if (args.length > max) throw usageError(`unexpected argument "${args[max]}"; usage: ${usage}`);
  return args;
}

/** A string flag that must be given. */
export function requireFlag(ctx: Context, name: string, usage: string): string {
  const value = ctx.values[name];
  if (typeof value !== 'string' || value === '') throw usageError(`missing --${name}; usage: ${usage}`);
  return value;
}

export function stringFlag(ctx: Context, name: string): string | undefined {
  const value = ctx.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A version number: a positive integer. */
export function parseVersion(text: string, what = 'version'): number {
  if (!/^[1-9]\d{0,9}$/.test(text)) throw usageError(`${what} must be a positive integer, got "${text}"`);
  return Number(text);
}

/** Prints `value` as JSON when `--json` was given; otherwise calls `human`. */
export function emit(ctx: Context, value: unknown, human: () => void): void {
  if (ctx.json) ctx.out(JSON.stringify(value, null, 2));
  else human();
}
