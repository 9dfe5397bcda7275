import { describe, expect, it } from 'vitest';
import type { DriftWindows } from '../../../protocol/drift.ts';
import { type DriftReport, WINDOW_MS } from '../../../protocol/profile/index.ts';
import { formatTime, windowSeries } from './series.ts';

const H = WINDOW_MS;
const from = 1_764_000_000_000 - (1_764_000_000_000 % H);

function report(statistic: number, drifted: boolean, accuracy: number | null): DriftReport {
  return {
    v: 1,
    model: 'm',
    version: 1,
    window: { from: 0, to: H },
    reference: { count: 100 },
    current: { count: 40 },
    features: [{ name: 'x', kind: 'numeric', method: 'psi', statistic, threshold: 0.2, drifted }],
    dataset: { driftedShare: drifted ? 1 : 0, drifted, threshold: 0.5 },
    ...(accuracy === null ? {} : { performance: { count: 10, accuracy, ece: 0.05, classes: [] } }),
  };
}

const at = (hour: number, r: DriftReport): DriftWindows['windows'][number] => ({
  from: from + hour * H,
  to: from + (hour + 1) * H,
  report: r,
});

describe('windowSeries', () => {
  it('lays 30 days of windows on a 720-hour grid with gaps where there is no data', () => {
    const s = windowSeries([at(0, report(0.1, false, 0.9)), at(719, report(0.5, true, null))], from, from + 720 * H);
    expect(s.x).toHaveLength(720);
    expect(s.x[1]).toBe((from + H) / 1000);
    const [x] = s.features;
    expect(x?.name).toBe('x');
    expect(x?.statistic[0]).toBe(0.1);
    expect(x?.statistic[1]).toBeNull();
    expect(x?.statistic[719]).toBe(0.5);
    expect(x?.drifted[0]).toBeNull();
    expect(x?.drifted[719]).toBe(0.5);
    expect(s.accuracy[0]).toBe(0.9);
    expect(s.feedback[0]).toBe(10);
    expect(s.accuracy[719]).toBeNull();
    expect(s.rows[719]).toBe(40);
  });

  it('charts the rows judged in each hour and those held back, from the edge basis', () => {
    const thin: DriftReport = {
      ...report(0.05, false, null),
      current: { count: 605 },
      basis: {
        judged: 'with-previous',
        span: { from: from - H, to: from + H },
        rows: 5,
        minRows: 100,
        heldBack: { probation: { rows: 30, contributors: 2 }, unverified: { rows: 12, contributors: 1 } },
        probationHours: 24,
      },
    };
    const s = windowSeries([at(0, thin), at(1, report(0.1, false, null))], from, from + 2 * H);
    expect(s.rows).toEqual([5, 40]);
    expect(s.heldBack).toEqual([42, null]);
  });

  it('ignores windows outside the range', () => {
    const s = windowSeries([at(-1, report(0.3, true, 1)), at(5, report(0.3, true, 1))], from, from + 5 * H);
    expect(s.rows.every((r) => r === null)).toBe(true);
  });
});

describe('formatTime', () => {
  it('formats in UTC to the minute', () => {
    expect(formatTime(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('2026-01-02 03:04 UTC');
  });
});
