import { type Command, emit, parseVersion, takeArgs } from '../lib/command.ts';

const usage = 'edgeloop archive <model> <version>';

export const archive: Command = {
  name: 'archive',
  summary: 'decommission a version (no alias may point to it)',
  help: usage,
  options: {},
  async run(ctx) {
    const [model = '', versionText = ''] = takeArgs(ctx, usage, ['model', 'version']);
    const result = await ctx.client.archive(model, parseVersion(versionText));
    emit(ctx, result, () => ctx.out(`${result.model} v${result.version} archived`));
  },
};
