import type { SetRollout } from '../../protocol/index.ts';
import { printAlias } from '../lib/alias-view.ts';
import { type Command, emit, parseVersion, requireFlag, stringFlag, takeArgs } from '../lib/command.ts';
import { usageError } from '../lib/errors.ts';

const usage = 'edgeloop rollout <model> --alias <alias> [--canary <version>@<percent>] [--shadow <version>] | --clear';

/** `3@10` → version 3 to 10% of clients. */
function parseCanary(text: string): { version: number; percent: number } {
  const match = /^(\d+)@(\d+(?:\.\d+)?)%?$/.exec(text);
  if (!match) throw usageError(`--canary must be <version>@<percent> (e.g. 3@10), got "${text}"`);
  const percent = Number(match[2]);
  if (percent > 100) throw usageError(`--canary percent must be 0 to 100, got ${percent}`);
  return { version: parseVersion(match[1] ?? '', '--canary version'), percent };
}

export const rollout: Command = {
  name: 'rollout',
  summary: "set or clear an alias's canary and shadow versions",
  help: `${usage}

Sets the whole rollout of the alias: a flag left out is removed from it.

  --alias <alias>               the alias (e.g. production)
  --canary <version>@<percent>  serve <version> to <percent>% of clients (sticky per client)
  --shadow <version>            run <version> alongside the alias's version, output not shown
  --clear                       remove canary and shadow
  --reason <text>               why (kept in the alias history)`,
  options: {
    alias: { type: 'string' },
    canary: { type: 'string' },
    shadow: { type: 'string' },
    clear: { type: 'boolean' },
    reason: { type: 'string' },
  },
  async run(ctx) {
    const [model = ''] = takeArgs(ctx, usage, ['model']);
    const alias = requireFlag(ctx, 'alias', usage);
    const canary = stringFlag(ctx, 'canary');
    const shadow = stringFlag(ctx, 'shadow');
    const clear = ctx.values.clear === true;
    if (clear && (canary !== undefined || shadow !== undefined)) {
      throw usageError('--clear cannot be combined with --canary or --shadow');
    }
    if (!clear && canary === undefined && shadow === undefined) {
      throw usageError(`give --canary, --shadow or --clear; usage: ${usage}`);
    }
    const body: SetRollout = {};
    if (canary !== undefined) body.canary = parseCanary(canary);
    if (shadow !== undefined) body.shadow = { version: parseVersion(shadow, '--shadow version') };
    const reason = stringFlag(ctx, 'reason');
    if (reason !== undefined) body.reason = reason;
    const info = await ctx.client.setRollout(model, alias, body);
    emit(ctx, info, () => printAlias(ctx, info));
  },
};
