import { AliasInfo, type ModelList, VersionInfo, VersionList } from '../../../protocol/registry.ts';
import type { DashboardApi } from './api.ts';
import { formatTime } from './series.ts';
import { table } from './table.ts';

export type ModelEntry = ModelList['models'][number];

/** What the other views need from the registry of one model. */
export interface RegistryState {
  versions: VersionInfo[];
  aliases: AliasInfo[];
}

const metricsText = (info: VersionInfo) =>
  Object.entries(info.manifest.metrics ?? {})
    .map(([name, value]) => `${name} ${Number.isInteger(value) ? value : value.toFixed(3)}`)
    .join(', ') || '–';

function rolloutText(alias: AliasInfo): string {
  const { canary, shadow } = alias.rollout;
  const parts = [
    canary ? `canary v${canary.version} at ${canary.percent}%` : '',
    shadow ? `shadow v${shadow.version}` : '',
  ];
  return parts.filter(Boolean).join(', ') || 'no rollout';
}

/**
 * Loads a model's versions (with lineage and metrics) and aliases (with history) and renders
 * them as tables; returns them for the rollout and drift views.
 *
 * @example
 * const state = await showRegistry(api, model, { versions: byId('versions', HTMLElement), aliases: byId('aliases', HTMLElement) });
 */
export async function showRegistry(
  api: DashboardApi,
  model: ModelEntry,
  parents: { versions: HTMLElement; aliases: HTMLElement },
): Promise<RegistryState> {
  const name = encodeURIComponent(model.name);
  const list = await api.get(VersionList, `/v1/models/${name}/versions`);
  const [versions, aliases] = await Promise.all([
    Promise.all(list.versions.map((s) => api.get(VersionInfo, `/v1/models/${name}/versions/${s.version}`))),
    Promise.all(
      Object.keys(model.aliases)
        .sort()
        .map((alias) => api.get(AliasInfo, `/v1/models/${name}/aliases/${encodeURIComponent(alias)}`)),
    ),
  ]);
  const aliasesOf = (version: number) =>
    aliases
      .filter((a) => a.version === version)
      .map((a) => a.alias)
      .join(', ') || '–';
  parents.versions.replaceChildren(
    table(
      `Versions of ${model.name}`,
      ['Version', 'Status', 'Aliases', 'Created', 'Parent', 'Run', 'Data', 'Metrics'],
      versions.map((info) => {
        const lineage = info.manifest.lineage;
        return [
          `v${info.version}`,
          info.status,
          aliasesOf(info.version),
          formatTime(info.createdAt),
          lineage?.parentVersion ? `v${lineage.parentVersion}` : '–',
          lineage?.runId ?? '–',
          lineage?.data ?? '–',
          metricsText(info),
        ];
      }),
    ),
  );
  parents.aliases.replaceChildren(
    ...aliases.map((alias) => {
      const attention = model.attention?.[alias.alias];
      const article = document.createElement('article');
      article.className = 'alias';
      article.dataset.alias = alias.alias;
      const heading = document.createElement('h3');
      heading.textContent = `${alias.alias} → v${alias.version}`;
      const summary = document.createElement('p');
      summary.textContent =
        rolloutText(alias) +
        (attention
          ? ` · needs attention: ${attention.drifted.join(', ')} drifted in ${attention.windows} window(s)`
          : '');
      const history = table(
        `History of ${alias.alias}, newest first`,
        ['When', 'Change', 'From', 'To', 'Reason', 'Key'],
        [...alias.history]
          .sort((a, b) => b.at - a.at)
          .map((event) => [
            formatTime(event.at),
            event.kind === 'rollout' && event.rollout
              ? `rollout (${rolloutText({ ...alias, rollout: event.rollout })})`
              : event.kind,
            event.from === null ? '–' : `v${event.from}`,
            `v${event.to}`,
            event.reason ?? '–',
            event.keyId,
          ]),
      );
      article.append(heading, summary, history);
      return article;
    }),
  );
  return { versions, aliases };
}
