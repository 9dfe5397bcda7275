import type { DriftReport } from '../../protocol/index.ts';
import { type Command, emit, parseVersion, stringFlag, takeArgs } from '../lib/command.ts';
import { CliError, usageError } from '../lib/errors.ts';
import { table, time } from '../lib/format.ts';

const usage = 'edgeloop drift <model> [--version <n> | --alias <alias>] [--from <time> --to <time>] [--fail-on-drift]';

/** Exit code of `--fail-on-drift` when the dataset drifted, so scripts and CI can act on it. */
export const EXIT_DRIFT = 3;

export const drift: Command = {
  name: 'drift',
  summary: "a version's drift report: each feature against the reference, dataset drift, performance",
  help: `${usage}

Prints the drift report the edge computes from every client's profiles in the window,
against the version's reference profile (made at publish from the training data).

  --version <n>      the version (default: the one --alias points to)
  --alias <alias>    the alias whose version to report on (default production)
  --from <time>      window start, ms since the epoch or ISO 8601 (default: 24 hours ago)
  --to <time>        window end, exclusive (default: now)
  --fail-on-drift    exit ${EXIT_DRIFT} when the dataset drifted`,
  options: {
    version: { type: 'string' },
    alias: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'fail-on-drift': { type: 'boolean' },
  },
  async run(ctx) {
    const [model = ''] = takeArgs(ctx, usage, ['model']);
    const versionText = stringFlag(ctx, 'version');
    const alias = stringFlag(ctx, 'alias');
    if (versionText !== undefined && alias !== undefined)
      throw usageError(`give --version or --alias, not both; usage: ${usage}`);
    const version =
      versionText !== undefined
        ? parseVersion(versionText)
        : (await ctx.client.getAlias(model, alias ?? 'production')).version;
    const report = await ctx.client.getDrift(model, version, {
      from: stringFlag(ctx, 'from'),
      to: stringFlag(ctx, 'to'),
    });
    emit(ctx, report, () => printReport(ctx.out, report));
    if (ctx.values['fail-on-drift'] === true && report.dataset.drifted) {
      throw new CliError(
        `${model} v${version}: dataset drift (${share(report.dataset.driftedShare)} of features)`,
        EXIT_DRIFT,
      );
    }
  },
};

const num = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x.toPrecision(3));
const share = (x: number): string => `${(x * 100).toFixed(0)}%`;

function printReport(out: (line: string) => void, report: DriftReport): void {
  out(`${report.model} v${report.version}  ${time(report.window.from)} → ${time(report.window.to)}`);
  out(`reference ${report.reference.count} rows, current ${report.current.count} rows`);
  const rows = report.features.map((f) => [
    f.name,
    f.kind,
    f.method,
    num(f.statistic),
    num(f.threshold),
    num(f.pValue),
    f.drifted ? 'DRIFT' : 'ok',
  ]);
  for (const line of table([['FEATURE', 'KIND', 'METHOD', 'STATISTIC', 'THRESHOLD', 'P', 'VERDICT'], ...rows]))
    out(`  ${line}`);
  const { dataset } = report;
  out(
    `dataset: ${dataset.drifted ? 'DRIFT' : 'ok'} (${share(dataset.driftedShare)} of features drifted; threshold ${share(dataset.threshold)})`,
  );
  const p = report.predictions;
  if (p)
    out(`predictions: ${p.drifted ? 'DRIFT' : 'ok'} (${p.method} ${num(p.statistic)}, threshold ${num(p.threshold)})`);
  const perf = report.performance;
  if (perf) out(`performance: ${perf.count} labelled, accuracy ${num(perf.accuracy)}, ECE ${num(perf.ece)}`);
}
