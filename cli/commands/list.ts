import { type Command, emit, takeArgs } from '../lib/command.ts';
import { table } from '../lib/format.ts';

const usage = 'edgeloop list';

export const list: Command = {
  name: 'list',
  summary: 'models with their latest version and aliases',
  help: usage,
  options: {},
  async run(ctx) {
    takeArgs(ctx, usage, []);
    const result = await ctx.client.listModels();
    emit(ctx, result, () => {
      if (result.models.length === 0) return ctx.out('no models');
      const rows = result.models.map((m) => [
        m.name,
        `v${m.latestVersion}`,
        Object.entries(m.aliases)
          .map(([alias, version]) => `${alias}=v${version}`)
          .join(', ') || '-',
      ]);
      for (const line of table([['MODEL', 'LATEST', 'ALIASES'], ...rows])) ctx.out(line);
    });
  },
};
