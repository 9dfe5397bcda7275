import { type Command, emit, parseVersion, takeArgs } from '../lib/command.ts';
import { bytes, table, time } from '../lib/format.ts';

const usage = 'edgeloop show <model> [version]';

export const show: Command = {
  name: 'show',
  summary: "a model's versions, or one version's manifest and files",
  help: usage,
  options: {},
  async run(ctx) {
    const [model = '', versionText] = takeArgs(ctx, usage, ['model'], 2);
    if (versionText === undefined) {
      const result = await ctx.client.listVersions(model);
      return emit(ctx, result, () => {
        const rows = result.versions.map((v) => [`v${v.version}`, v.status, time(v.createdAt)]);
        for (const line of table([['VERSION', 'STATUS', 'CREATED'], ...rows])) ctx.out(line);
      });
    }
    const info = await ctx.client.getVersion(model, parseVersion(versionText));
    emit(ctx, info, () => {
      const m = info.manifest;
      ctx.out(`${info.model} v${info.version} (${info.status}, created ${time(info.createdAt)})`);
      if (m.description) ctx.out(`  ${m.description}`);
      ctx.out(`  format   ${m.format}`);
      for (const t of m.inputs) ctx.out(`  input    ${t.name} ${t.dtype} [${t.shape.join(', ')}]`);
      for (const t of m.outputs) ctx.out(`  output   ${t.name} ${t.dtype} [${t.shape.join(', ')}]`);
      for (const [k, value] of Object.entries(m.metrics ?? {})) ctx.out(`  metric   ${k} = ${value}`);
      if (m.lineage?.parentVersion !== undefined) ctx.out(`  parent   v${m.lineage.parentVersion}`);
      if (m.lineage?.runId) ctx.out(`  run      ${m.lineage.runId}`);
      const roles = new Map(m.files.map((f) => [f.path, f.role]));
      const rows = info.files.map((f) => [f.path, roles.get(f.path) ?? '-', bytes(f.size), f.sha256]);
      for (const line of table([['FILE', 'ROLE', 'SIZE', 'SHA256'], ...rows])) ctx.out(`  ${line}`);
    });
  },
};
