import { ModelCard } from '../../protocol/index.ts';
import { type Command, emit, parseVersion, takeArgs } from '../lib/command.ts';

const usage = 'edgeloop card <model> <version>';

export const card: Command = {
  name: 'card',
  summary: "a version's model card: Markdown (or --json) from its manifest, runs, round, privacy, drift",
  help: `${usage}

Prints the model card the edge generates for the version: what the manifest says (inputs,
outputs, labels, features, training, metrics), its lineage and training runs, the federated
round that made it with its gate decision, the privacy the model has spent, the aliases
pointing at it and its drift. With --json, the edge's answer: the Markdown and the card's JSON.`,
  options: {},
  async run(ctx) {
    const [model = '', versionText = ''] = takeArgs(ctx, usage, ['model', 'version']);
    const version = parseVersion(versionText);
    const answer = await ctx.client.request(
      ModelCard,
      `/v1/models/${encodeURIComponent(model)}/versions/${version}/card`,
    );
    emit(ctx, answer, () => ctx.out(answer.markdown.trimEnd()));
  },
};
