import { readFile } from 'node:fs/promises';
import { type Command, type Context, emit, stringFlag, takeArgs } from '../lib/command.ts';
import { CliError, usageError } from '../lib/errors.ts';
import { givenFlags, optionsOf, POLICY_FIELDS, policyBody, policyFromJson } from '../lib/round-flags.ts';
import { printPolicy } from '../lib/rounds-view.ts';

const setUsage = 'edgeloop policy set <model> <alias> (--file <policy.json> | flags)';
const usage = `edgeloop policy get <model> <alias> | ${setUsage.slice(9)}`;

async function readPolicy(file: string) {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return policyFromJson(file, text);
}

const sub = (ctx: Context, rest: string[]): Context => ({ ...ctx, positionals: rest });

export const policy: Command = {
  name: 'policy',
  summary: "an alias's continuous-training policy: get, set",
  help: `${usage}

  policy get <model> <alias>            the policy, the candidate it is watching, its last round
  policy set <model> <alias> --file <f> replace the policy with <f> (JSON, protocol/rounds.ts Policy)
  policy set <model> <alias> [flags]    replace the policy with one built from flags; any
                                        field left out takes its default (publish key)

Flags of policy set:
  --every-labels <n>      open a round once <n> new labels reached the edge
  --on-drift              open a round when the served version has a drift alert
  --every-hours <h>       open a round <h> hours after the last one opened
  --round-seconds <s>     how long a round stays open (default 600)
  --min-accuracy <x>      gate: the candidate's held-out accuracy must reach <x>
  --max-drop <x>          gate: at most <x> below the baseline's accuracy (default 0.01)
  --canary-percent <p>    the canary share a blessed candidate gets (default 10)
  --min-labelled <n>      labelled predictions needed from canary and stable (default 50)
  --disable               store the policy switched off
  --min-clients, --max-clients, --epochs, --learning-rate, --clip-norm, --noise,
  --aggregator, --example-cap, --min-examples, --delta, --evaluation-seconds
                          the settings of the rounds it opens (see "edgeloop rounds --help")`,
  options: { file: { type: 'string' }, ...optionsOf(POLICY_FIELDS) },
  async run(ctx) {
    const [name, ...rest] = ctx.positionals;
    const flags = givenFlags(ctx.values, POLICY_FIELDS);
    const file = stringFlag(ctx, 'file');
    if (name !== 'set' && (flags.length > 0 || file !== undefined))
      throw usageError(`${flags[0] ?? '--file'} only applies to policy set; usage: ${setUsage}`);
    if (name === 'get') {
      const [model = '', alias = ''] = takeArgs(sub(ctx, rest), 'edgeloop policy get <model> <alias>', [
        'model',
        'alias',
      ]);
      const info = await ctx.client.getPolicy(model, alias);
      return emit(ctx, info, () => printPolicy(ctx.out, info));
    }
    if (name === 'set') {
      const [model = '', alias = ''] = takeArgs(sub(ctx, rest), setUsage, ['model', 'alias']);
      if (file !== undefined && flags.length > 0)
        throw usageError(`give --file or flags, not both (${flags[0]}); usage: ${setUsage}`);
      if (file === undefined && flags.length === 0) throw usageError(`give --file or a flag; usage: ${setUsage}`);
      const body = file === undefined ? policyBody(ctx.values) : await readPolicy(file);
      const info = await ctx.client.setPolicy(model, alias, body);
      return emit(ctx, info, () => printPolicy(ctx.out, info));
    }
    throw usageError(
      name === undefined
        ? `missing subcommand; usage: ${usage}`
        : `unknown policy subcommand "${name}"; usage: ${usage}`,
    );
  },
};
