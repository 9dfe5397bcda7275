#!/usr/bin/env node
// `edgeloop`: a thin command-line client of the edge HTTP API (see README "CLI").
import { parseArgs } from 'node:util';
import { archive } from './commands/archive.ts';
import { card } from './commands/card.ts';
import { drift } from './commands/drift.ts';
import { init } from './commands/init.ts';
import { keys } from './commands/keys.ts';
import { list } from './commands/list.ts';
import { policy } from './commands/policy.ts';
import { promote } from './commands/promote.ts';
import { publish } from './commands/publish.ts';
import { rollback } from './commands/rollback.ts';
import { rollout } from './commands/rollout.ts';
import { rounds } from './commands/rounds.ts';
import { runs } from './commands/runs.ts';
import { show } from './commands/show.ts';
import { EdgeClient } from './lib/client.ts';
import { type Command, type Context, GLOBAL_HELP, GLOBAL_OPTIONS, type Values } from './lib/command.ts';
import { CliError, EXIT_FAILURE, usageError } from './lib/errors.ts';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8787';
const commands: Command[] = [
  init,
  publish,
  list,
  show,
  card,
  promote,
  rollout,
  rollback,
  archive,
  drift,
  runs,
  rounds,
  policy,
  keys,
];

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: edgeloop <command> [args] [flags]\n\nCommands:\n${lines.join('\n')}\n\n${GLOBAL_HELP}\n\nRun "edgeloop <command> --help" for a command's usage.`;
}

/** node:util's parse errors, in one short line that names the flag. */
function flagError(command: string, error: unknown): CliError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const flag = /'(-[^' ]+)/.exec(message)?.[1];
  const hint = `run "edgeloop ${command} --help"`;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return usageError(`unknown flag ${flag} for "${command}"; ${hint}`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return usageError(
      message.includes('argument missing') ? `flag ${flag} needs a value; ${hint}` : `bad flag ${flag}; ${hint}`,
    );
  }
  return usageError(`${message.split('. ')[0]}; ${hint}`);
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) throw usageError('missing command; run "edgeloop --help"');
    return void console.log(topHelp());
  }
  const command = commands.find((c) => c.name === name);
  if (!command) throw usageError(`unknown command "${name}"; run "edgeloop --help"`);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] };
  } catch (error) {
    throw flagError(name, error);
  }
  const { values, positionals } = parsed;
  if (values.help) return void console.log(`usage: ${command.help}\n\n${GLOBAL_HELP}`);
  const endpoint = (values.endpoint as string | undefined) ?? process.env.EDGELOOP_ENDPOINT ?? DEFAULT_ENDPOINT;
  const key = (values.key as string | undefined) ?? process.env.EDGELOOP_KEY;
  const ctx: Context = {
    client: new EdgeClient(endpoint, key || undefined),
    json: values.json === true,
    values,
    positionals,
    out: (line) => console.log(line),
    info: (line) => console.error(line),
  };
  await command.run(ctx);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof CliError) {
    console.error(`edgeloop: ${error.message}`);
    process.exitCode = error.exitCode;
  } else {
    console.error(`edgeloop: unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = EXIT_FAILURE;
  }
}
