import { printAlias } from '../lib/alias-view.ts';
import { type Command, emit, parseVersion, requireFlag, takeArgs } from '../lib/command.ts';

const usage = 'edgeloop promote <model> <version> --alias <alias> --reason <text>';

export const promote: Command = {
  name: 'promote',
  summary: 'move an alias to a version, with a reason',
  help: `${usage}

  --alias <alias>    the alias to move (e.g. production)
  --reason <text>    why (kept in the alias history)`,
  options: { alias: { type: 'string' }, reason: { type: 'string' } },
  async run(ctx) {
    const [model = '', versionText = ''] = takeArgs(ctx, usage, ['model', 'version']);
    const version = parseVersion(versionText);
    const alias = requireFlag(ctx, 'alias', usage);
    const reason = requireFlag(ctx, 'reason', usage);
    const info = await ctx.client.setAlias(model, alias, version, reason);
    emit(ctx, info, () => printAlias(ctx, info));
  },
};
