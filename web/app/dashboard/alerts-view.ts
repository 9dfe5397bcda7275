import { AlertList } from '../../../protocol/dashboard.ts';
import type { DashboardApi } from './api.ts';
import { formatTime } from './series.ts';
import { table } from './table.ts';

/**
 * Renders a version's drift alerts, newest window first.
 *
 * @example
 * await showAlerts(api, 'digits', 2, byId('alerts', HTMLElement));
 */
export async function showAlerts(
  api: DashboardApi,
  model: string,
  version: number,
  parent: HTMLElement,
): Promise<void> {
  const { alerts } = await api.get(AlertList, `/v1/models/${encodeURIComponent(model)}/versions/${version}/alerts`);
  if (alerts.length === 0) {
    parent.replaceChildren(
      Object.assign(document.createElement('p'), { textContent: `No drift alerts for v${version}.` }),
    );
    return;
  }
  parent.replaceChildren(
    table(
      `Drift alerts of ${model} v${version}`,
      ['Window', 'Drifted features', 'Share', 'Dataset', 'Acknowledged'],
      alerts.map((a) => [
        formatTime(a.window.from),
        a.drifted.join(', ') || '–',
        `${Math.round(a.driftedShare * 100)}%`,
        a.datasetDrifted ? 'drifted' : 'ok',
        a.acknowledgedAt === null ? 'no' : formatTime(a.acknowledgedAt),
      ]),
    ),
  );
}
