import { ApiFailure, type DashboardApi, getRounds } from './api.ts';
import { privacyText, roundCells, timeLeft } from './rounds-format.ts';
import { table } from './table.ts';

const HEADERS = [
  'Round',
  'Status',
  'Base',
  'Contributors of min/max',
  'Time left',
  'Examples',
  'Privacy (ε, δ)',
  'Candidate',
  'Gate',
  'Reason',
];
/** Index of the time-left column, which ticks while a round is open. */
const TIME_LEFT = HEADERS.indexOf('Time left');

/**
 * A paragraph of text (never HTML).
 *
 * @example
 * parent.replaceChildren(note('No rounds yet.'));
 */
export function note(text: string): HTMLParagraphElement {
  return Object.assign(document.createElement('p'), { textContent: text });
}

/** What a failed call says, as the edge sent it. */
export const failureText = (error: unknown): string =>
  error instanceof ApiFailure ? `the edge refused: ${error.message}` : String(error);

let ticking = false;

/** Once a second, the time left of every open round on the page (cells marked with their deadline). */
function tick(): void {
  if (ticking) return;
  ticking = true;
  setInterval(() => {
    for (const cell of document.querySelectorAll<HTMLElement>('[data-deadline]')) {
      cell.textContent = timeLeft(Number(cell.dataset.deadline), Date.now());
    }
  }, 1000);
}

/**
 * Renders a model's federated rounds (newest first: progress, time left while open, examples,
 * (ε, δ), candidate, the gate's decision with its reasons) and its cumulative privacy. A
 * refusal is shown in the panel, so the rest of the dashboard still draws.
 *
 * @example
 * await showRounds(api, 'digits', { rounds: byId('rounds', HTMLElement), privacy: byId('privacy', HTMLElement) });
 */
export async function showRounds(
  api: DashboardApi,
  model: string,
  parents: { rounds: HTMLElement; privacy: HTMLElement },
): Promise<void> {
  try {
    const list = await getRounds(api, model);
    parents.privacy.textContent = privacyText(list.privacy);
    if (list.rounds.length === 0) {
      parents.rounds.replaceChildren(note(`No federated rounds for ${model} yet.`));
      return;
    }
    const now = Date.now();
    const element = table(
      `Federated rounds of ${model}, newest first`,
      HEADERS,
      list.rounds.map((r) => roundCells(r, now)),
    );
    for (const [i, r] of list.rounds.entries()) {
      const row = element.tBodies[0]?.rows[i];
      if (!row) continue;
      row.dataset.round = r.id;
      row.dataset.status = r.status;
      const cell = row.cells[TIME_LEFT];
      if (r.status === 'open' && cell) cell.dataset.deadline = String(r.settings.deadline);
    }
    parents.rounds.replaceChildren(element);
    tick();
  } catch (error) {
    parents.privacy.textContent = '';
    parents.rounds.replaceChildren(note(`Rounds unavailable: ${failureText(error)}`));
  }
}
