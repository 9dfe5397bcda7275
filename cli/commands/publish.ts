import { type Command, emit, stringFlag, takeArgs } from '../lib/command.ts';
import { usageError } from '../lib/errors.ts';
import { bytes, table } from '../lib/format.ts';
import { type PublishProgress, publishDir, readManifest, readReferenceRows } from '../lib/publish.ts';

const usage = 'edgeloop publish <dir> [--reference <rows.json>] [--onnx] [--alias <alias> --reason <text>]';

export const publish: Command = {
  name: 'publish',
  summary: 'publish <dir>/manifest.json and its files as the next version',
  help: `${usage}

Reads <dir>/manifest.json, checks it, and uploads it with every file it lists as the
model's next immutable version (one multipart request).

  --reference <rows.json>
                     profile these rows (an array of {feature: value} objects, e.g. the
                     training data's features) with the manifest's feature schema and
                     publish the profile as the version's reference for drift
  --onnx             also export the tfjs model (the file with role "model" and its
                     weights) to ONNX (opset 13) and publish it with role "onnx" as
                     model.onnx, or in place of the file the manifest lists with that
                     role; the graph keeps the manifest's input/output names and the
                     model's NHWC float32 shapes, with a dynamic batch dimension
  --alias <alias>    then move this alias to the new version
  --reason <text>    why the alias moves (kept in its history)`,
  options: {
    alias: { type: 'string' },
    reason: { type: 'string' },
    reference: { type: 'string' },
    onnx: { type: 'boolean' },
  },
  async run(ctx) {
    const [dir = ''] = takeArgs(ctx, usage, ['dir']);
    const alias = stringFlag(ctx, 'alias');
    const reason = stringFlag(ctx, 'reason');
    if (reason !== undefined && alias === undefined) throw usageError(`--reason needs --alias; usage: ${usage}`);
    const rowsFile = stringFlag(ctx, 'reference');
    const reference = rowsFile === undefined ? undefined : await readReferenceRows(rowsFile, await readManifest(dir));
    if (reference) ctx.info(`reference: profiled ${reference.count} rows from ${rowsFile}`);
    const onProgress = (p: PublishProgress) => {
      if (p.kind === 'onnx') ctx.info(`onnx: exported ${p.from} to ${p.path} (${bytes(p.size)})`);
      else if (p.kind === 'file') ctx.info(`[${p.index + 1}/${p.count}] ${p.path} (${bytes(p.size)})`);
      else ctx.info(`uploading ${p.files} files, ${bytes(p.bytes)}…`);
    };
    const onnx = ctx.values.onnx === true;
    const result = await publishDir(ctx.client, dir, onProgress, reference ? { reference, onnx } : { onnx });
    const moved = alias ? await ctx.client.setAlias(result.model, alias, result.version, reason) : undefined;
    emit(ctx, moved ? { ...result, alias: moved } : result, () => {
      ctx.out(`published ${result.model} v${result.version} (${result.files.length} files)`);
      for (const line of table(result.files.map((f) => [f.path, bytes(f.size), f.sha256]))) ctx.out(`  ${line}`);
      if (moved) ctx.out(`${result.model}@${moved.alias} → v${moved.version}`);
    });
  },
};
