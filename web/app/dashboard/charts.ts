import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Column } from './series.ts';

export interface Line {
  label: string;
  values: Column;
  color: string;
  /** Points only (no line): e.g. drifted windows over a statistic. */
  points?: boolean;
  dash?: number[];
}

const WIDTH = 520;
const HEIGHT = 200;

/** A figure with a caption: the chart's accessible name, since the canvas has no text. */
function figure(parent: HTMLElement, title: string): HTMLElement {
  const fig = document.createElement('figure');
  fig.className = 'chart';
  fig.setAttribute('role', 'group');
  fig.setAttribute('aria-label', title);
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  fig.append(caption);
  parent.append(fig);
  return fig;
}

/**
 * An hourly time-series chart (x in seconds) with uPlot; gaps (null) break the line.
 *
 * @example
 * timeChart(section, 'Accuracy', series.x, [{ label: 'accuracy', values: series.accuracy, color: '#2563eb' }]);
 */
export function timeChart(parent: HTMLElement, title: string, x: number[], lines: readonly Line[]): uPlot {
  const fig = figure(parent, title);
  const options: uPlot.Options = {
    width: WIDTH,
    height: HEIGHT,
    scales: { x: { time: true } },
    series: [
      {},
      ...lines.map(
        (line): uPlot.Series => ({
          label: line.label,
          stroke: line.color,
          width: line.points ? 0 : 1.5,
          ...(line.dash ? { dash: line.dash } : {}),
          points: line.points ? { show: true, size: 6, fill: line.color } : { show: false },
          ...(line.points ? { paths: () => null } : {}),
        }),
      ),
    ],
  };
  return new uPlot(options, [x, ...lines.map((line) => line.values)], fig);
}

/**
 * Reference and current shares side by side as bars, one pair per bin or category.
 *
 * @example
 * barChart(section, 'x: reference vs current', ['-3', '-2.7', …], ref, cur);
 */
export function barChart(
  parent: HTMLElement,
  title: string,
  labels: readonly string[],
  reference: readonly number[],
  current: readonly number[],
): uPlot {
  const fig = figure(parent, title);
  const bars = (align: -1 | 1) => uPlot.paths.bars?.({ size: [0.4, 40], align });
  const x = labels.map((_, i) => i);
  const options: uPlot.Options = {
    width: WIDTH,
    height: HEIGHT,
    scales: { x: { time: false, range: [-0.6, labels.length - 0.4] }, y: { range: [0, null] } },
    axes: [{ values: (_, ticks) => ticks.map((t) => labels[t] ?? ''), space: 40 }, {}],
    series: [
      {},
      { label: 'reference', stroke: '#64748b', fill: '#94a3b8', paths: bars(-1), points: { show: false } },
      { label: 'current', stroke: '#b45309', fill: '#f59e0b', paths: bars(1), points: { show: false } },
    ],
  };
  return new uPlot(options, [x, [...reference], [...current]], fig);
}
