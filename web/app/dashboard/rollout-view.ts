import { AliasInfo } from '../../../protocol/registry.ts';
import { ArchiveResult, type SetRollout } from '../../../protocol/rollout.ts';
import { byId } from '../dom.ts';
import type { DashboardApi } from './api.ts';
import { confirmAction } from './confirm.ts';
import type { RegistryState } from './registry-view.ts';
import { fillSelect } from './table.ts';

export interface RolloutHooks {
  /** Called after a change went through: reload the views. */
  changed(notice: string): Promise<void>;
  failed(error: unknown): void;
}

const control = {
  alias: byId('rollout-alias', HTMLSelectElement),
  promoteVersion: byId('promote-version', HTMLSelectElement),
  promoteReason: byId('promote-reason', HTMLInputElement),
  canaryVersion: byId('canary-version', HTMLSelectElement),
  canaryPercent: byId('canary-percent', HTMLInputElement),
  shadowVersion: byId('shadow-version', HTMLSelectElement),
  archiveVersion: byId('archive-version', HTMLSelectElement),
};

/**
 * Wires the rollout controls (publish scope): promote, canary percent, shadow, clear,
 * rollback and archive, each behind a confirmation that says what will change. Returns the
 * function that refreshes the controls for a model's registry state.
 *
 * @example
 * const refresh = wireRollout(api, dialog, hooks);
 * refresh('digits', state);
 */
export function wireRollout(
  api: DashboardApi,
  dialog: HTMLDialogElement,
  hooks: RolloutHooks,
): (model: string, state: RegistryState) => void {
  let model = '';
  let state: RegistryState = { versions: [], aliases: [] };
  const alias = () => state.aliases.find((a) => a.alias === control.alias.value);
  const path = (rest: string) => `/v1/models/${encodeURIComponent(model)}${rest}`;
  const aliasPath = (rest = '') => path(`/aliases/${encodeURIComponent(control.alias.value)}${rest}`);

  async function act(title: string, consequence: string, run: () => Promise<unknown>, done: string) {
    if (!(await confirmAction(dialog, title, consequence))) return;
    try {
      await run();
      await hooks.changed(done);
    } catch (error) {
      hooks.failed(error);
    }
  }
  const setRollout = (body: SetRollout) => api.send(AliasInfo, 'PUT', aliasPath('/rollout'), body);
  const on = (id: string, handler: () => Promise<void>) =>
    byId(id, HTMLButtonElement).addEventListener('click', () => void handler());

  on('promote', async () => {
    const version = Number(control.promoteVersion.value);
    const reason = control.promoteReason.value.trim();
    const from = alias()?.version;
    await act(
      `Promote v${version} to ${control.alias.value}`,
      `${control.alias.value} moves from v${from} to v${version}: every client resolving it gets v${version}.`,
      () => api.send(AliasInfo, 'PUT', aliasPath(), { version, ...(reason ? { reason } : {}) }),
      `${control.alias.value} now points at v${version}.`,
    );
  });
  on('canary', async () => {
    const version = Number(control.canaryVersion.value);
    const percent = control.canaryPercent.valueAsNumber;
    const shadow = alias()?.rollout.shadow;
    await act(
      `Canary v${version} at ${percent}%`,
      `${percent}% of the clients resolving ${control.alias.value} get v${version} instead of v${alias()?.version}.`,
      () => setRollout({ canary: { version, percent }, ...(shadow ? { shadow } : {}) }),
      `Canary v${version} at ${percent}% on ${control.alias.value}.`,
    );
  });
  on('shadow', async () => {
    const version = Number(control.shadowVersion.value);
    const canary = alias()?.rollout.canary;
    await act(
      `Shadow v${version}`,
      `Clients of ${control.alias.value} also run v${version} alongside it; its outputs are compared, never shown.`,
      () => setRollout({ shadow: { version }, ...(canary ? { canary } : {}) }),
      `v${version} shadows ${control.alias.value}.`,
    );
  });
  on('clear-rollout', async () => {
    await act(
      `Clear the rollout of ${control.alias.value}`,
      `The canary and shadow of ${control.alias.value} stop: every client gets v${alias()?.version}.`,
      () => setRollout({}),
      `The rollout of ${control.alias.value} is cleared.`,
    );
  });
  on('rollback', async () => {
    await act(
      `Roll back ${control.alias.value}`,
      `${control.alias.value} moves back from v${alias()?.version} to the version it held before.`,
      () => api.send(AliasInfo, 'POST', aliasPath('/rollback')),
      `${control.alias.value} was rolled back.`,
    );
  });
  on('archive', async () => {
    const version = Number(control.archiveVersion.value);
    await act(
      `Archive v${version}`,
      `v${version} of ${model} is decommissioned for good: no alias or rollout may use it, and clients can no longer download it.`,
      () => api.send(ArchiveResult, 'POST', path(`/versions/${version}/archive`)),
      `v${version} is archived.`,
    );
  });

  return (name, next) => {
    model = name;
    state = next;
    const ready = next.versions
      .filter((info) => info.status === 'ready')
      .map((info) => [String(info.version), `v${info.version}`] as const);
    fillSelect(
      control.alias,
      next.aliases.map((a) => [a.alias, a.alias] as const),
      'production',
    );
    for (const select of [
      control.promoteVersion,
      control.canaryVersion,
      control.shadowVersion,
      control.archiveVersion,
    ]) {
      fillSelect(select, ready);
    }
  };
}
