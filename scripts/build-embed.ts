// Builds the script tag (web/embed/loader.ts) into dist/web after `vite build`, which it needs:
// the loader starts the worker vite emitted. Writes the versioned, immutable
// /embed/<version>/edgeloop.<hash>.js, the stable /edgeloop.js, their headers (dist/web/_headers,
// applied by Workers static assets), and dist/embed.json; prints the URL, size and SRI hash.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const web = `${root}dist/web`;
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };

/** What the build wrote, in dist/embed.json: the bench and the e2e test read it. */
export interface EmbedBuild {
  version: string;
  /** The versioned, immutable URL path of the script. */
  path: string;
  integrity: string;
  bytes: number;
  gzipBytes: number;
  /** The worker entry the script starts. */
  worker: string;
}

// The app's page bundles name the worker entry; the worker's own chunks only name each other.
const assets = readdirSync(`${web}/assets`);
const workers = new Set(
  assets
    .filter((name) => name.endsWith('.js') && !name.startsWith('worker-'))
    .flatMap((name) => readFileSync(`${web}/assets/${name}`, 'utf8').match(/assets\/worker-[\w-]+\.js/g) ?? []),
);
if (workers.size !== 1) throw new Error(`build-embed: expected one worker entry in dist/web, found ${[...workers]}`);
const worker = `/${[...workers][0]}`;

const result = await build({
  entryPoints: [`${root}web/embed/loader.ts`],
  bundle: true,
  format: 'iife',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  write: false,
  // client.ts imports the app's worker URL (import.meta.url); the loader never calls it, so it is
  // tree-shaken, but esbuild warns while parsing.
  logOverride: { 'empty-import-meta': 'silent' },
  define: { __EDGELOOP_WORKER_PATH__: JSON.stringify(worker), __EDGELOOP_VERSION__: JSON.stringify(version) },
});
const code = result.outputFiles[0]?.contents;
if (!code) throw new Error('build-embed: esbuild wrote nothing');

const integrity = `sha384-${createHash('sha384').update(code).digest('base64')}`;
const path = `/embed/${version}/edgeloop.${createHash('sha256').update(code).digest('hex').slice(0, 10)}.js`;
mkdirSync(`${web}/embed/${version}`, { recursive: true });
writeFileSync(`${web}${path}`, code);
copyFileSync(`${web}${path}`, `${web}/edgeloop.js`);

// Page origins other than the edge load the script (crossorigin, for SRI), the worker and its
// chunks (module imports), tfjs's .wasm files (fetch), and ORT's glue (a module import) and
// .wasm (fetch) with runtime 'onnx': all need CORS. Hashed names never change.
const HEADERS = `# build-embed: begin (the script tag and what it loads, from any origin)
/edgeloop.js
  Access-Control-Allow-Origin: *
  Cache-Control: public, max-age=300
/embed/*
  Access-Control-Allow-Origin: *
  Cache-Control: public, max-age=31536000, immutable
/assets/*
  Access-Control-Allow-Origin: *
  Cache-Control: public, max-age=31536000, immutable
/tfjs/*
  Access-Control-Allow-Origin: *
/ort/*
  Access-Control-Allow-Origin: *
# build-embed: end
`;
// Other rules in _headers are kept; this block replaces the one an earlier run wrote.
const headersFile = `${web}/_headers`;
const others = existsSync(headersFile)
  ? readFileSync(headersFile, 'utf8').replace(/# build-embed: begin[\s\S]*?# build-embed: end\n/, '')
  : '';
writeFileSync(headersFile, others + HEADERS);

const built: EmbedBuild = { version, path, integrity, bytes: code.length, gzipBytes: gzipSync(code).length, worker };
writeFileSync(`${root}dist/embed.json`, `${JSON.stringify(built, null, 2)}\n`);
console.log(
  `edgeloop.js ${path}: ${(built.bytes / 1024).toFixed(1)} KiB, gzip ${(built.gzipBytes / 1024).toFixed(1)} KiB\n` +
    `  integrity="${integrity}"`,
);
