import type { Run, RunComparison, RunList } from '../../protocol/index.ts';
import { type Command, type Context, emit, stringFlag, takeArgs } from '../lib/command.ts';
import { usageError } from '../lib/errors.ts';
import { table, time } from '../lib/format.ts';

const usage = 'edgeloop runs [--model <model>] | runs show <id> | runs compare <id> <id>…';

function printList(ctx: Context, list: RunList): void {
  if (list.runs.length === 0) {
    ctx.out('no runs');
    return;
  }
  const rows = list.runs.map((r) => [r.id, r.model, r.name ?? '-', r.status, time(r.createdAt)]);
  for (const line of table([['ID', 'MODEL', 'NAME', 'STATUS', 'CREATED'], ...rows])) ctx.out(line);
  if (list.nextCursor) ctx.out(`(more runs; newest ${list.runs.length} shown)`);
}

function printRun(ctx: Context, run: Run): void {
  ctx.out(`${run.id} ${run.name ?? ''}`.trimEnd());
  ctx.out(`  model    ${run.model}${run.parentVersion !== null ? ` (from v${run.parentVersion})` : ''}`);
  ctx.out(`  status   ${run.status}, created ${time(run.createdAt)}, ended ${time(run.endedAt)}`);
  if (run.versions.length > 0) ctx.out(`  versions ${run.versions.map((n) => `v${n}`).join(', ')}`);
  for (const [k, value] of Object.entries(run.params)) ctx.out(`  param    ${k} = ${value}`);
  for (const [k, value] of Object.entries(run.tags)) ctx.out(`  tag      ${k} = ${value}`);
  for (const [k, m] of Object.entries(run.metrics)) ctx.out(`  metric   ${k} = ${m.value} (step ${m.step})`);
}

function printComparison(ctx: Context, cmp: RunComparison): void {
  const header = ['', ...cmp.runs.map((r) => r.name ?? r.id)];
  const rows = [['id', ...cmp.runs.map((r) => r.id)]];
  for (const key of cmp.differingParams)
    rows.push([`param ${key}`, ...cmp.runs.map((r) => String(r.params[key] ?? '-'))]);
  for (const key of cmp.metricKeys) rows.push([`metric ${key}`, ...cmp.runs.map((r) => String(r.metrics[key] ?? '-'))]);
  for (const line of table([header, ...rows])) ctx.out(line);
  if (cmp.differingParams.length === 0) ctx.out('(params are the same)');
}

export const runs: Command = {
  name: 'runs',
  summary: 'experiment runs: list, show one, compare',
  help: `${usage}

  runs [--model <model>]       the newest runs, optionally of one model
  runs show <id>               one run: params, tags, latest metrics, versions
  runs compare <id> <id>…      params that differ and metrics side by side`,
  options: { model: { type: 'string' } },
  async run(ctx) {
    const [sub, ...ids] = ctx.positionals;
    if (sub === undefined) {
      const list = await ctx.client.listRuns(stringFlag(ctx, 'model'));
      return emit(ctx, list, () => printList(ctx, list));
    }
    if (stringFlag(ctx, 'model') !== undefined)
      throw usageError(`--model only applies to listing runs; usage: ${usage}`);
    if (sub === 'show') {
      const [id = ''] = takeArgs({ ...ctx, positionals: ids }, 'edgeloop runs show <id>', ['id']);
      const run = await ctx.client.getRun(id);
      return emit(ctx, run, () => printRun(ctx, run));
    }
    if (sub === 'compare') {
      takeArgs(
        { ...ctx, positionals: ids },
        'edgeloop runs compare <id> <id>…',
        ['id', 'id'],
        Number.POSITIVE_INFINITY,
      );
      const cmp = await ctx.client.compareRuns(ids);
      return emit(ctx, cmp, () => printComparison(ctx, cmp));
    }
    throw usageError(`unknown runs subcommand "${sub}"; usage: ${usage}`);
  },
};
