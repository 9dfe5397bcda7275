import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelTask } from '../../protocol/manifest.ts';
import { type Command, emit, requireFlag, stringFlag, takeArgs } from '../lib/command.ts';
import { CliError, usageError } from '../lib/errors.ts';
import { initManifest } from '../lib/init/manifest.ts';

const usage =
  'edgeloop init <dir> --model <name> [--task classification|regression|embedding] [--labels <labels.txt>] [--description <text>] [--force]';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export const init: Command = {
  name: 'init',
  summary: 'write <dir>/manifest.json from the model files in <dir>',
  help: `${usage}

Finds the model in <dir> (a tfjs layers or graph model.json with its weight shards, or
an .onnx file), reads its inputs and outputs (from the ONNX graph, or by loading the tfjs
model and running it once on zeros), and writes <dir>/manifest.json: the format, every
file with its role, the signature, drift features for the first input, the task and the
labels. Then "edgeloop publish <dir>" publishes it. Nothing is sent anywhere.

  --model <name>     the registry model the version belongs to
  --task <task>      what the first output is: classification (class scores), regression
                     (values) or embedding (a vector); default classification when it has
                     several values per example, else regression
  --labels <file>    class labels, one per line, in output order
  --description <text>
  --force            overwrite an existing manifest.json`,
  options: {
    model: { type: 'string' },
    task: { type: 'string' },
    labels: { type: 'string' },
    description: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(ctx) {
    const [dir = ''] = takeArgs(ctx, usage, ['dir']);
    const model = requireFlag(ctx, 'model', usage);
    const taskFlag = stringFlag(ctx, 'task');
    if (taskFlag !== undefined && !ModelTask.options.includes(taskFlag as ModelTask)) {
      throw usageError(`--task must be one of ${ModelTask.options.join(', ')}, got "${taskFlag}"; usage: ${usage}`);
    }
    const target = join(dir, 'manifest.json');
    if (ctx.values.force !== true && (await exists(target))) {
      throw new CliError(`${target} exists; pass --force to overwrite it`);
    }
    const labelsFile = stringFlag(ctx, 'labels');
    const description = stringFlag(ctx, 'description');
    const { manifest, unlisted } = await initManifest(dir, {
      model,
      ...(taskFlag ? { task: taskFlag as ModelTask } : {}),
      ...(labelsFile ? { labelsFile } : {}),
      ...(description ? { description } : {}),
    });
    await writeFile(target, `${JSON.stringify(manifest, null, 2)}\n`);
    emit(ctx, { path: target, manifest, unlisted }, () => {
      ctx.out(`wrote ${target}: ${manifest.name}, ${manifest.format}, task ${manifest.task}`);
      for (const t of manifest.inputs) ctx.out(`  input    ${t.name} ${t.dtype} [${t.shape.join(', ')}]`);
      for (const t of manifest.outputs) ctx.out(`  output   ${t.name} ${t.dtype} [${t.shape.join(', ')}]`);
      for (const f of manifest.files) ctx.out(`  file     ${f.path} (${f.role})`);
      ctx.out(`  drift    ${manifest.features.features.map((f) => f.name).join(', ') || 'outputs only'}`);
      if (manifest.labels) ctx.out(`  labels   ${manifest.labels.length}`);
      for (const path of unlisted) ctx.info(`not listed: ${path}`);
      ctx.out(`next: edgeloop publish ${dir}`);
    });
  },
};
