import type { Performance } from './report.schema.ts';
import type { FeedbackProfile } from './schema.ts';

/**
 * Accuracy, per-class precision/recall/support and expected calibration error
 * ECE = Σ_b (count_b / N)·|accuracy_b − mean confidence_b| from a feedback profile. Ratios with
 * nothing to divide by are null.
 *
 * @example
 * performance(feedbackProfile([{ actual: 0, predicted: 0, confidence: 0.9 }], 2)).accuracy // 1
 */
export function performance(feedback: FeedbackProfile): Performance {
  const { classes, confusion, calibration } = feedback;
  const cell = (actual: number, predicted: number) => confusion[actual * classes + predicted] ?? 0;
  let count = 0;
  let correct = 0;
  const rows = new Array<number>(classes).fill(0);
  const columns = new Array<number>(classes).fill(0);
  for (let a = 0; a < classes; a++) {
    for (let p = 0; p < classes; p++) {
      const c = cell(a, p);
      count += c;
      rows[a] = (rows[a] ?? 0) + c;
      columns[p] = (columns[p] ?? 0) + c;
      if (a === p) correct += c;
    }
  }
  let calibrated = 0;
  let ece = 0;
  calibration.count.forEach((n, b) => {
    if (n === 0) return;
    calibrated += n;
    ece += Math.abs((calibration.correct[b] ?? 0) - (calibration.confidence[b] ?? 0));
  });
  const ratio = (x: number, y: number) => (y > 0 ? x / y : null);
  return {
    count,
    accuracy: ratio(correct, count),
    ece: ratio(ece, calibrated),
    classes: Array.from({ length: classes }, (_, label) => ({
      label,
      support: rows[label] ?? 0,
      precision: ratio(cell(label, label), columns[label] ?? 0),
      recall: ratio(cell(label, label), rows[label] ?? 0),
    })),
  };
}
