// `npm test`: typecheck, lint, every vitest project (unit in Node, edge in workerd) and the
// Playwright specs in Chromium. Ends with one line "N passed, N failed" summed over all of
// them, and exits non-zero when anything failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { wranglerEnv } from './lib/run.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = `${root}node_modules/.bin/`;
const out = `${root}.vitest-results`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

interface Tally {
  suite: string;
  passed: number;
  failed: number;
}
const tallies: Tally[] = [];

function run(name: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  console.log(`\n▶ ${name} ${args.join(' ')}`);
  const result = spawnSync(`${bin}${name}`, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...wranglerEnv(root), ...env },
  });
  return result.status ?? 1;
}

/** A whole-tool check (typecheck, lint) counts as one test. */
function check(suite: string, name: string, args: string[]): void {
  const ok = run(name, args) === 0;
  tallies.push({ suite, passed: ok ? 1 : 0, failed: ok ? 0 : 1 });
}

function readJson(file: string): Record<string, unknown> | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : null;
}

for (const project of ['protocol', 'models', 'worker', 'web', 'edge', 'edge/ort', 'scripts', 'cli']) {
  check(`typecheck ${project}`, 'tsc', ['-p', project]);
}
check('lint', 'biome', ['check', '.']);

const vitestJson = `${out}/vitest.json`;
const vitestCode = run('vitest', ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`]);
const vitest = readJson(vitestJson);
if (vitest) {
  const failed = Number(vitest.numFailedTests) + (vitestCode !== 0 && Number(vitest.numFailedTests) === 0 ? 1 : 0);
  tallies.push({ suite: 'vitest', passed: Number(vitest.numPassedTests), failed });
} else tallies.push({ suite: 'vitest (no report)', passed: 0, failed: 1 });

const pwJson = `${out}/playwright.json`;
const pwCode = run('playwright', ['test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson });
const pw = readJson(pwJson)?.stats as { expected: number; unexpected: number; flaky: number } | undefined;
if (pw) {
  const failed = pw.unexpected + pw.flaky + (pwCode !== 0 && pw.unexpected === 0 ? 1 : 0);
  tallies.push({ suite: 'playwright', passed: pw.expected, failed });
} else tallies.push({ suite: 'playwright (no report)', passed: 0, failed: 1 });

console.log('');
for (const t of tallies) if (t.failed > 0) console.log(`failed: ${t.suite} (${t.failed})`);
const passed = tallies.reduce((n, t) => n + t.passed, 0);
const failed = tallies.reduce((n, t) => n + t.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
