import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Cloudflare's Worker size limits (after gzip) as documented today; a 64 MiB uncompressed limit is announced. */
export const LIMITS = { freeGzipKiB: 3 * 1024, paidGzipKiB: 10 * 1024 };

/** What `wrangler deploy --dry-run` would upload for a config, as wrangler reports it. */
function uploadSize(config: string): { kib: number; gzipKiB: number } {
  const outdir = mkdtempSync(join(tmpdir(), 'edgeloop-dry-'));
  try {
    // On this Node (22, the project's), whatever `node` the PATH holds.
    const out = execFileSync(
      process.execPath,
      [`${root}node_modules/wrangler/bin/wrangler.js`, 'deploy', '--dry-run', '--outdir', outdir, '-c', config],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(out);
    if (!match) throw new Error(`no upload size in wrangler's output for ${config}:\n${out}`);
    return { kib: Number(match[1]), gzipKiB: Number(match[2]) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Upload sizes of the API Worker and the ORT Worker, against the limits. */
export function benchBundles() {
  return { api: uploadSize('wrangler.toml'), ort: uploadSize('edge/ort/wrangler.toml'), limits: LIMITS };
}
