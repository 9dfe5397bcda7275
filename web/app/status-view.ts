import type { BackendReport, SyncResult, WorkerStatus } from '../../protocol/worker-api.ts';
import { describeBackend } from './backend-summary.ts';
import { describeFederated } from './federated-summary.ts';
import { syncNotes } from './sync-summary.ts';

export interface StatusElements {
  backend: HTMLElement;
  version: HTMLElement;
  personal: HTMLElement;
  pending: HTMLElement;
  lastSync: HTMLElement;
  federated: HTMLElement;
}

export interface StatusView {
  /** Shows the load's backend report; the raw report stays on `data-report` for tests and tools. */
  showBackend(report: BackendReport): void;
  show(status: WorkerStatus): void;
}

/**
 * @example
 * const view = createStatusView({ backend, version, personal, pending, lastSync, federated });
 * view.showBackend(loaded.backend);
 * view.show(await client.status());
 */
export function createStatusView(elements: StatusElements): StatusView {
  return {
    showBackend(report) {
      const { headline, notes } = describeBackend(report);
      const list = document.createElement('ul');
      list.className = 'notes';
      for (const note of notes) list.append(Object.assign(document.createElement('li'), { textContent: note }));
      elements.backend.replaceChildren(headline, ...(notes.length ? [list] : []));
      elements.backend.dataset.report = JSON.stringify(report);
    },
    show(status) {
      const { model, pending, lastSync } = status;
      elements.version.textContent = model ? `${model.name} v${model.version} (${model.alias})` : 'no model loaded';
      elements.personal.textContent = model ? describePersonal(model) : '–';
      elements.pending.textContent = `${pending} ${pending === 1 ? 'event' : 'events'}`;
      const notes = syncNotes(status);
      elements.lastSync.textContent = [lastSync ? describeSync(lastSync) : 'never', ...notes].join(' · ');
      elements.federated.textContent = describeFederated(status.federated);
    },
  };
}

function describePersonal(model: NonNullable<WorkerStatus['model']>): string {
  const { personal, personalNote } = model;
  const active = personal
    ? `active on v${personal.baseVersion} since ${new Date(personal.createdAt).toLocaleTimeString()} (${personal.examples} labels)`
    : 'none: the registry weights serve';
  return personalNote ? `${active} · ${personalNote}` : active;
}

function describeSync(sync: SyncResult): string {
  const time = new Date(sync.at).toLocaleTimeString();
  return `${time}: sent ${sync.sent}, accepted ${sync.accepted}, duplicates ${sync.duplicates}, rejected ${sync.rejected}`;
}
