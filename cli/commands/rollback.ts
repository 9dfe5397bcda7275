import { printAlias } from '../lib/alias-view.ts';
import { type Command, emit, requireFlag, takeArgs } from '../lib/command.ts';

const usage = 'edgeloop rollback <model> --alias <alias>';

export const rollback: Command = {
  name: 'rollback',
  summary: 'move an alias back to the version it held before',
  help: `${usage}

  --alias <alias>    the alias to roll back`,
  options: { alias: { type: 'string' } },
  async run(ctx) {
    const [model = ''] = takeArgs(ctx, usage, ['model']);
    const alias = requireFlag(ctx, 'alias', usage);
    const info = await ctx.client.rollback(model, alias);
    emit(ctx, info, () => printAlias(ctx, info));
  },
};
