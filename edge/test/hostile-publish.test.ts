import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.ts';
import { MAX_VERSION_FILES } from '../../protocol/manifest.ts';
import { bytes, manifest, modelFiles } from './helpers.ts';
import { encode, type Hostile, malformedJson, nonFinite, notString, refused } from './hostile-arbitraries.ts';
import { badModelParam, enc, MODEL, REGISTRY_TABLES, setUpRegistry } from './hostile-registry-fixture.ts';
import { refuseAll } from './hostile-runner.ts';

// Hostile input to publishing (multipart: a manifest and the files it lists). Each request is
// refused with a 4xx and the contract's error body, and D1 and R2 stay exactly as they were.

const LONG = 60_000;
let publishKey = '';
let readKey = '';

beforeAll(async () => {
  ({ publishKey, readKey } = await setUpRegistry());
}, LONG);

const badRequest = refused(400, ErrorCode.BAD_REQUEST);

describe('POST /v1/models/{m}/versions (publish)', () => {
  const files = modelFiles(MODEL);

  /** A multipart body built by hand, so parts, names and boundaries can be wrong. */
  function multipart(parts: { name: string; filename?: string; data: string | Uint8Array }[], boundary = 'hostileB') {
    const chunks: Uint8Array[] = [];
    for (const part of parts) {
      const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
      chunks.push(bytes(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`));
      chunks.push(typeof part.data === 'string' ? bytes(part.data) : part.data);
      chunks.push(bytes('\r\n'));
    }
    chunks.push(bytes(`--${boundary}--\r\n`));
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }

  const form = (label: string, body: Uint8Array, exp?: Hostile['expect'], model = MODEL, type?: string): Hostile => ({
    label,
    method: 'POST',
    path: `/v1/models/${model}/versions`,
    key: publishKey,
    headers: { 'Content-Type': type ?? 'multipart/form-data; boundary=hostileB' },
    body,
    expect: exp,
  });

  const fileParts = Object.entries(files).map(([name, data]) => ({ name, filename: name, data }));
  const withManifest = (man: string | Uint8Array) => multipart([{ name: 'manifest', data: man }, ...fileParts]);
  const invalidManifest = refused(400, ErrorCode.INVALID_MANIFEST);

  it(
    'refuses broken forms, manifests and files, storing no version and no blob',
    async () => {
      const valid = manifest(MODEL, Object.keys(files));
      const validText = JSON.stringify(valid);
      const manifestBreakers: Record<string, fc.Arbitrary<unknown>> = {
        v: fc.oneof(fc.constantFrom<unknown>(0, 2, '1', null), nonFinite),
        name: fc.oneof(notString, fc.constantFrom('other-model', 'UPPER', '')),
        format: fc.oneof(notString, fc.constantFrom('onnx', 'TFJS-LAYERS', '')),
        inputs: fc.oneof(
          notString.filter((x) => !Array.isArray(x) || x.length > 0),
          fc.constant([{ name: 1 }]),
        ),
        files: fc.oneof(
          notString.filter((x) => !Array.isArray(x) || x.length > 0),
          fc.constant([]),
          fc.constant([{ path: '../model.json', role: 'model' }]),
          fc.constant([
            { path: 'model.json', role: 'model' },
            { path: 'model.json', role: 'weights' },
          ]),
          fc.constant([{ path: 'model.json', role: 'model', sha256: 'abc' }]),
          fc.constant(
            Array.from({ length: MAX_VERSION_FILES + 1 }, (_, i) => ({ path: `w${i}.bin`, role: 'weights' })),
          ),
        ),
      };
      const arb = fc.oneof(
        malformedJson(valid).map((m) => form('manifest not JSON', withManifest(m), invalidManifest)),
        fc
          .constantFrom(...Object.keys(manifestBreakers))
          .chain((field) => (manifestBreakers[field] as fc.Arbitrary<unknown>).map((value) => ({ field, value })))
          .map(({ field, value }) =>
            form(
              `manifest.${field} = ${encode(value).slice(0, 40)}`,
              withManifest(encode({ ...valid, [field]: value })),
              invalidManifest,
            ),
          ),
        fc.constant(form('no manifest', multipart(fileParts), invalidManifest)),
        fc.constant(
          form(
            'two manifests',
            multipart([{ name: 'manifest', data: validText }, { name: 'manifest', data: validText }, ...fileParts]),
            invalidManifest,
          ),
        ),
        fc.constantFrom(...fileParts.map((p) => p.name)).map((name) =>
          form(
            `missing file ${name}`,
            multipart([{ name: 'manifest', data: validText }, ...fileParts.filter((p) => p.name !== name)]),
            {
              status: 400,
              code: ErrorCode.MISSING_FILE,
            },
          ),
        ),
        fc
          .stringMatching(/^[a-z]{1,12}\.bin$/)
          .filter((n) => n !== 'weights.bin')
          .map((name) =>
            form(
              'unlisted file',
              multipart([{ name: 'manifest', data: validText }, ...fileParts, { name, filename: name, data: 'x' }]),
              badRequest,
            ),
          ),
        fc
          .constantFrom('{"m":1}', 'not json', '{"modelTopology":{},"weightsManifest":[]}')
          .map((garbage) =>
            form(
              `model.json ${garbage}`,
              multipart([
                { name: 'manifest', data: validText },
                { name: 'model.json', filename: 'model.json', data: garbage },
                fileParts[1] as (typeof fileParts)[number],
              ]),
              refused(400, ErrorCode.INVALID_MODEL),
            ),
          ),
        fc.constant(
          form(
            'file as a string field',
            multipart([
              { name: 'manifest', data: validText },
              { name: 'model.json', data: '{}' },
              fileParts[1] as (typeof fileParts)[number],
            ]),
            badRequest,
          ),
        ),
        fc.constant(
          form(
            'file sent twice',
            multipart([
              { name: 'manifest', data: validText },
              ...fileParts,
              fileParts[0] as (typeof fileParts)[number],
            ]),
            badRequest,
          ),
        ),
        fc.stringMatching(/^[0-9a-f]{64}$/).map((sha256) =>
          form(
            'digest mismatch',
            withManifest(
              JSON.stringify({
                ...valid,
                files: [
                  { path: 'model.json', role: 'model', sha256 },
                  { path: 'weights.bin', role: 'weights' },
                ],
              }),
            ),
            refused(400, ErrorCode.DIGEST_MISMATCH),
          ),
        ),
        fc
          .integer({ min: 4, max: 1000 })
          .map((parentVersion) =>
            form(
              'unknown parent',
              withManifest(JSON.stringify({ ...valid, lineage: { parentVersion } })),
              invalidManifest,
            ),
          ),
        badModelParam.map((m) => form(`bad model ${JSON.stringify(m)}`, withManifest(validText), undefined, enc(m))),
        fc
          .constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', '')
          .map((type) =>
            form(
              `content-type "${type}"`,
              withManifest(validText),
              refused(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
              MODEL,
              type,
            ),
          ),
        fc
          .tuple(fc.integer({ min: 10, max: 200 }), fc.constantFrom('wrongB', 'hostile', ''))
          .map(([cut, boundary]) =>
            form(
              'broken multipart',
              withManifest(validText).slice(0, cut),
              undefined,
              MODEL,
              `multipart/form-data; boundary=${boundary || 'x'}`,
            ),
          ),
        fc.constant({ ...form('read key', withManifest(validText), refused(403, ErrorCode.FORBIDDEN)), key: readKey }),
      );
      await refuseAll('POST /v1/models/{m}/versions', arb, { requests: 230, tables: REGISTRY_TABLES, r2: true });
    },
    LONG,
  );

  it(
    'refuses a body over 25 MiB with 413',
    async () => {
      const big = new Uint8Array(25 * 1024 * 1024 + 1);
      const man = manifest(MODEL, ['model.json']);
      const body = multipart([
        { name: 'manifest', data: JSON.stringify(man) },
        { name: 'model.json', filename: 'model.json', data: big },
      ]);
      await refuseAll(
        'POST /v1/models/{m}/versions (oversized)',
        fc.constant(form('oversized', body, refused(413, ErrorCode.PAYLOAD_TOO_LARGE))),
        {
          requests: 1,
          tables: REGISTRY_TABLES,
          r2: true,
        },
      );
    },
    LONG,
  );
});

// Runs last: when the edge takes these bodies (a finding, see the suite's report) it writes.
