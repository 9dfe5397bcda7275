import { appendFileSync, copyFileSync, existsSync, readFileSync } from 'node:fs';

export interface DevKeys {
  adminKey: string;
  clientKey: string;
}

/** `KEY=value` lines of a dotenv file (comments and blank lines skipped), in order. */
function parseVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(line);
    if (match?.[1] && match[2] !== undefined) vars.set(match[1], match[2]);
  }
  return vars;
}

/**
 * Reads the local keys from `.dev.vars`, creating it from `.dev.vars.example` when missing.
 * An existing `.dev.vars` gets every key of the example it lacks appended (with the example's
 * local-only value), so a checkout made before a new secret was added keeps working.
 *
 * @example
 * const { adminKey, clientKey } = ensureDevVars(process.cwd());
 */
export function ensureDevVars(root: string): DevKeys {
  const file = `${root}/.dev.vars`;
  const example = `${root}/.dev.vars.example`;
  if (!existsSync(file)) copyFileSync(example, file);
  const vars = parseVars(readFileSync(file, 'utf8'));
  const missing = [...parseVars(readFileSync(example, 'utf8'))].filter(([key]) => !vars.has(key));
  if (missing.length > 0) {
    const current = readFileSync(file, 'utf8');
    const lines = missing.map(([key, value]) => `${key}=${value}\n`).join('');
    appendFileSync(file, `${current.endsWith('\n') || current === '' ? '' : '\n'}${lines}`);
    for (const [key, value] of missing) vars.set(key, value);
  }
  const adminKey = vars.get('EDGELOOP_ADMIN_KEY');
  const clientKey = vars.get('EDGELOOP_CLIENT_KEY');
  if (!adminKey || !clientKey) {
    throw new Error(`${file} must set EDGELOOP_ADMIN_KEY and EDGELOOP_CLIENT_KEY (see .dev.vars.example)`);
  }
  return { adminKey, clientKey };
}
