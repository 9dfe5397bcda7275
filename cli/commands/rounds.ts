import { type Command, type Context, emit, takeArgs } from '../lib/command.ts';
import { usageError } from '../lib/errors.ts';
import { givenFlags, OPEN_FIELDS, openRoundBody, optionsOf } from '../lib/round-flags.ts';
import { printRound, printRounds } from '../lib/rounds-view.ts';

const openUsage = 'edgeloop rounds open <model> [--alias <alias>] [--base <n>] [settings flags]';
const usage = `edgeloop rounds list <model> | rounds show <model> <id> | rounds cancel <model> <id> | ${openUsage.slice(9)}`;

const sub = (ctx: Context, rest: string[]): Context => ({ ...ctx, positionals: rest });

export const rounds: Command = {
  name: 'rounds',
  summary: 'federated rounds of a model: list, show, open, cancel',
  help: `${usage}

  rounds list <model>          every round (status, contributors/eligible, examples, ε,
                               candidate, gate) and the model's cumulative privacy
  rounds show <model> <id>     one round: settings, privacy, gate reasons and metrics, reason
  rounds open <model> [flags]  open a round (one at a time per model; publish key)
  rounds cancel <model> <id>   cancel an open round (publish key)

Flags of rounds open (the edge's defaults for any left out):
  --alias <alias>            the alias the round is for (default production); the base
                             is the version it serves, unless --base
  --base <n>                 train from version <n>
  --min-clients <n>          contributors needed to aggregate (default 3)
  --max-clients <n>          the round closes at this many contributors (default 100)
  --minutes <m>              the deadline, <m> minutes from now (default 10)
  --epochs <n>               local epochs on each device (default 3)
  --learning-rate <x>        local learning rate (default 0.003)
  --clip-norm <x>            each update is scaled down to this L2 norm (default 1)
  --noise <x>                Gaussian noise multiplier on the sum (default 0: ε = ∞)
  --aggregator <name>        fedavg, trimmed-mean or median (default fedavg)
  --example-cap <n>          examples an update counts for at most (default 100)
  --min-examples <n>         labelled examples a device needs to take part (default 10)
  --delta <x>                the δ the round's (ε, δ) is reported at (default 1e-5)
  --evaluation-seconds <s>   time the contributors get to evaluate the candidate on labels they held out (default 0: holdout file only)`,
  options: optionsOf(OPEN_FIELDS),
  async run(ctx) {
    const [name, ...rest] = ctx.positionals;
    const flags = givenFlags(ctx.values, OPEN_FIELDS);
    if (name !== 'open' && flags.length > 0)
      throw usageError(`${flags[0]} only applies to rounds open; usage: ${openUsage}`);
    if (name === 'list') {
      const [model = ''] = takeArgs(sub(ctx, rest), 'edgeloop rounds list <model>', ['model']);
      const list = await ctx.client.listRounds(model);
      return emit(ctx, list, () => printRounds(ctx.out, list));
    }
    if (name === 'show' || name === 'cancel') {
      const [model = '', id = ''] = takeArgs(sub(ctx, rest), `edgeloop rounds ${name} <model> <id>`, ['model', 'id']);
      const round = name === 'show' ? await ctx.client.getRound(model, id) : await ctx.client.cancelRound(model, id);
      return emit(ctx, round, () => printRound(ctx.out, round));
    }
    if (name === 'open') {
      const [model = ''] = takeArgs(sub(ctx, rest), openUsage, ['model']);
      const round = await ctx.client.openRound(model, openRoundBody(ctx.values, Date.now()));
      return emit(ctx, round, () => printRound(ctx.out, round));
    }
    throw usageError(
      name === undefined
        ? `missing subcommand; usage: ${usage}`
        : `unknown rounds subcommand "${name}"; usage: ${usage}`,
    );
  },
};
