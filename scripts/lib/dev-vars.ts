import { copyFileSync, existsSync, readFileSync } from 'node:fs';

export interface DevKeys {
  adminKey: string;
  clientKey: string;
}

/** Reads the local keys from `.dev.vars`, creating it from `.dev.vars.example` when missing. */
export function ensureDevVars(root: string): DevKeys {
  const file = `${root}/.dev.vars`;
  if (!existsSync(file)) copyFileSync(`${root}/.dev.vars.example`, file);
  const vars = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(line);
    if (match?.[1] && match[2] !== undefined) vars.set(match[1], match[2]);
  }
  const adminKey = vars.get('EDGELOOP_ADMIN_KEY');
  const clientKey = vars.get('EDGELOOP_CLIENT_KEY');
  if (!adminKey || !clientKey) {
    throw new Error(`${file} must set EDGELOOP_ADMIN_KEY and EDGELOOP_CLIENT_KEY (see .dev.vars.example)`);
  }
  return { adminKey, clientKey };
}
