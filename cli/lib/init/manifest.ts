import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { Manifest, type ModelTask } from '../../../protocol/manifest.ts';
import { CliError } from '../errors.ts';
import { modelDriftFeatures } from './features.ts';
import { findModel } from './files.ts';
import { readSignature } from './signature.ts';

/** What `edgeloop init` is told besides the folder. */
export interface InitOptions {
  model: string;
  task?: ModelTask;
  /** A text file of class labels, one per line, in output order. */
  labelsFile?: string;
  description?: string;
}

/** The manifest written, and the folder's files it leaves out. */
export interface InitResult {
  manifest: Manifest;
  unlisted: string[];
}

async function readLabels(file: string, classes: number | undefined): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(
      `cannot read the labels file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  const labels = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  if (labels.length === 0) throw new CliError(`${file} holds no labels (one per line)`);
  if (classes !== undefined && classes > 0 && labels.length !== classes) {
    throw new CliError(`${file} holds ${labels.length} labels; the model's first output has ${classes} classes`);
  }
  return labels;
}

/**
 * Builds the manifest of the model in `dir`: its format and files (findModel), its inputs and
 * outputs (readSignature), drift features for its first input, the task (default:
 * classification when the first output has several values per example, else regression) and
 * the labels. The result is checked against protocol/manifest.ts, so `edgeloop publish` takes it.
 *
 * @example
 * const { manifest } = await initManifest('models/mobilenet', { model: 'mobilenet', labelsFile: 'labels.txt' });
 */
export async function initManifest(dir: string, options: InitOptions): Promise<InitResult> {
  const found = await findModel(dir);
  const { inputs, outputs } = await readSignature(found);
  const [input] = inputs;
  const [output] = outputs;
  if (!input || !output)
    throw new CliError(`${found.model}: the model has no ${input ? 'output' : 'input'}`, 1, 'INVALID_MODEL');
  const width = output.shape.length > 1 ? output.shape.at(-1) : 1;
  const task = options.task ?? (width !== undefined && width !== 1 ? 'classification' : 'regression');
  const labels =
    options.labelsFile === undefined
      ? undefined
      : await readLabels(options.labelsFile, width !== undefined && width > 0 ? width : undefined);
  if (labels && task !== 'classification') throw new CliError(`--labels names classes; a ${task} model has none`, 2);
  const manifest = {
    v: 1,
    name: options.model,
    format: found.format,
    ...(options.description ? { description: options.description } : {}),
    inputs,
    outputs,
    task,
    ...(labels ? { labels } : {}),
    features: { features: modelDriftFeatures(inputs) },
    files: found.files,
  };
  const parsed = v.safeParse(Manifest, manifest);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new CliError(
      `the manifest for ${dir} is invalid: ${issue ? `${v.getDotPath(issue) ?? ''}: ${issue.message}` : ''}`,
    );
  }
  return { manifest: parsed.output, unlisted: found.unlisted };
}
