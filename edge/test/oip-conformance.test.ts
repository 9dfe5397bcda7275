import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.ts';
import { OIP_ERROR_CODE_HEADER } from '../../protocol/oip.ts';
import { api, CLIENT_KEY, sendJson } from './helpers.ts';
import { publishSpecModel, specOutputs } from './oip-fixture.ts';

// Conformance with the Open Inference Protocol's own examples, written out here (not fetched):
//   [REST] kserve/open-inference-protocol, specification/protocol/inference_rest.md (HTTP/REST):
//          "Server Metadata/Model Metadata/Server Live/Server Ready/Model Ready Response JSON
//          Object", the "… JSON Error Object"s, "Inference Request Examples".
//   [V2]   kserve/kserve, docs/predict-api/v2/required_api.md (Predict Protocol - Version 2):
//          the same objects and example, plus "Response Output", "Parameters", "Tensor Data".
// The example model is "mymodel", published as close as Edgeloop serves it (oip-fixture.ts).

type Spec = string | Spec[] | { [field: string]: Spec };

/**
 * The protocol's JSON objects as [REST]/[V2] write them: $string, $number, $bool ($boolean),
 * $parameters, $tensor_data; a field ending in " #optional" may be left out.
 */
const SPEC: Record<string, Spec> = {
  // $metadata_server_response = { "name" : $string, "version" : $string, "extensions" : [ $string, ... ] }
  metadata_server_response: { name: '$string', version: '$string', extensions: ['$string'] },
  // $metadata_model_response = { "name" : $string, "versions" : [ $string, ... ] #optional,
  //   "platform" : $string, "inputs" : [ $metadata_tensor, ... ], "outputs" : [ $metadata_tensor, ... ] }
  metadata_model_response: {
    name: '$string',
    'versions #optional': ['$string'],
    platform: '$string',
    inputs: ['$metadata_tensor'],
    outputs: ['$metadata_tensor'],
  },
  // $metadata_tensor = { "name" : $string, "datatype" : $string, "shape" : [ $number, ... ] }
  // (datatype: a $string of "Tensor Data Types", checked as $datatype here)
  metadata_tensor: { name: '$string', datatype: '$datatype', shape: ['$number'] },
  // $live_server_response = { "live" : $bool }. [REST] gives $ready_server_response the same
  // "live" field (a slip); Edgeloop answers {"ready": true}, as Triton and KServe do.
  live_server_response: { live: '$bool' },
  ready_server_response: { ready: '$bool' },
  // $ready_model_response = { "name" : $string, "ready": $bool }
  ready_model_response: { name: '$string', ready: '$bool' },
  // $inference_response = { "model_name" : $string, "model_version" : $string #optional,
  //   "id" : $string, "parameters" : $parameters #optional, "outputs" : [ $response_output, ... ] }
  // ("id": "The "id" identifier given in the request, if any.")
  inference_response: {
    model_name: '$string',
    'model_version #optional': '$string',
    'id #optional': '$string',
    'parameters #optional': '$parameters',
    outputs: ['$response_output'],
  },
  // $response_output = { "name" : $string, "shape" : [ $number, ... ], "datatype" : $string,
  //   "parameters" : $parameters #optional, "data" : $tensor_data }
  response_output: {
    name: '$string',
    shape: ['$number'],
    datatype: '$datatype',
    'parameters #optional': '$parameters',
    data: '$tensor_data',
  },
  // $inference_error_response = { "error": <error message string> } (and the metadata errors')
  error_response: { error: '$string' },
};

// [V2] "Tensor Data Types".
const DATATYPES = 'BOOL UINT8 UINT16 UINT32 UINT64 INT8 INT16 INT32 INT64 FP16 FP32 FP64 BYTES'.split(' ');

/** What in `value` departs from `spec` (extra fields included); [] when it conforms. */
function departures(value: unknown, spec: Spec, at = '$'): string[] {
  if (Array.isArray(spec)) {
    if (!Array.isArray(value)) return [`${at} is not an array`];
    return value.flatMap((item, i) => departures(item, spec[0] ?? '', `${at}[${i}]`));
  }
  if (typeof spec === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at} is not an object`];
    const fields = Object.keys(spec).map((key) => ({ name: key.replace(' #optional', ''), key }));
    const extra = Object.keys(value).filter((k) => !fields.some((f) => f.name === k));
    return [
      ...extra.map((k) => `${at}.${k} is not in the spec`),
      ...fields.flatMap(({ name, key }) => {
        const given = (value as Record<string, unknown>)[name];
        if (given === undefined) return key.endsWith('#optional') ? [] : [`${at}.${name} is missing`];
        return departures(given, spec[key] ?? '', `${at}.${name}`);
      }),
    ];
  }
  const scalar = (v: unknown) => ['string', 'number', 'boolean'].includes(typeof v);
  const ok: Record<string, (v: unknown) => boolean> = {
    $string: (v) => typeof v === 'string',
    $number: (v) => typeof v === 'number' && Number.isFinite(v),
    $bool: (v) => typeof v === 'boolean',
    $datatype: (v) => DATATYPES.includes(v as string),
    $parameters: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(scalar),
    // Answers are flat (row-major) here, though [V2] allows nested data.
    $tensor_data: (v) => Array.isArray(v) && v.every(scalar),
  };
  const check = ok[spec];
  if (check) return check(value) ? [] : [`${at} is not ${spec}`];
  const ref = SPEC[spec.slice(1)];
  return ref ? departures(value, ref, at) : [`unknown spec type ${spec}`];
}

const conforms = (value: unknown, type: string) =>
  expect(departures(value, `$${type}`), JSON.stringify(value)).toEqual([]);

// [REST]/[V2] "Inference Request Examples": the request, verbatim (POST /v2/models/mymodel/infer).
const SPEC_REQUEST = {
  id: '42',
  inputs: [
    { name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] },
    { name: 'input1', shape: [3], datatype: 'BOOL', data: [true] },
  ],
  outputs: [{ name: 'output0' }],
};
// …and its response, verbatim but for the comma the spec leaves out after "id" : "42".
const SPEC_RESPONSE = {
  id: '42',
  outputs: [{ name: 'output0', shape: [3, 2], datatype: 'FP32', data: [1.0, 1.1, 2.0, 2.1, 3.0, 3.1] }],
};
// [V2] "Tensor Data": the matrix [ 1 2 / 4 5 ] in its natural format and flattened.
const NATURAL = [
  [1, 2],
  [4, 5],
];
const FLATTENED = [1, 2, 4, 5];

/**
 * The spec's request as Edgeloop's "mymodel" takes it. Adapted, and why:
 * - input0 UINT32 → INT32: Edgeloop models take FP32 and INT32 tensors only (same data);
 * - input1 BOOL [3] with data [ true ] → FP32 [2, 1] with flags [1, 0]: no BOOL, one flag per
 *   row because every input is batched alike, and the spec's own input1 holds 1 element where
 *   its shape [3] holds 3 (Edgeloop refuses that mismatch, see below).
 */
const ADAPTED = {
  ...SPEC_REQUEST,
  inputs: [
    { name: 'input0', shape: [2, 2], datatype: 'INT32', data: [1, 2, 3, 4] },
    { name: 'input1', shape: [2, 1], datatype: 'FP32', data: [1, 0] },
  ],
};
const WANT = specOutputs(
  [
    [1, 2],
    [3, 4],
  ],
  [1, 0],
);

type InferAnswer = {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
};
const infer = (body: unknown, path = 'mymodel') => sendJson('POST', `/v2/models/${path}/infer`, body, CLIENT_KEY);

async function answer(res: Response): Promise<InferAnswer> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as InferAnswer;
  conforms(body, 'inference_response');
  return body;
}

function expectClose(got: number[] | undefined, want: number[]) {
  expect(got).toHaveLength(want.length);
  for (const [i, y] of (got ?? []).entries()) expect(y, `element ${i}`).toBeCloseTo(want[i] ?? Number.NaN, 5);
}

/** Asserts the protocol's error object, the status and Edgeloop's code header; returns the message. */
async function refusal(res: Response, status: number, code: ErrorCode): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get(OIP_ERROR_CODE_HEADER), text).toBe(code);
  const body = JSON.parse(text) as { error: string };
  conforms(body, 'error_response');
  expect(body.error.length).toBeGreaterThan(0);
  return body.error;
}

beforeAll(async () => {
  await publishSpecModel('mymodel');
});

describe('the spec objects, as this file checks them', () => {
  it("finds what departs from them: the spec's own response example lacks model_name", () => {
    expect(departures(SPEC_RESPONSE, '$inference_response')).toEqual(['$.model_name is missing']);
    expect(departures({ ...SPEC_RESPONSE, model_name: 'mymodel', extra: 1 }, '$inference_response')).toEqual([
      '$.extra is not in the spec',
    ]);
    const output = { name: 'o', shape: [1, 'x'], datatype: 'FP8', data: [[1]] };
    expect(departures(output, '$response_output')).toEqual([
      '$.shape[1] is not $number',
      '$.datatype is not $datatype',
      '$.data is not $tensor_data',
    ]);
    expect(departures({ error: { code: 'X' } }, '$error_response')).toEqual(['$.error is not $string']);
  });
});

describe('OIP v2 health, server and model metadata (the spec objects)', () => {
  it('answers live and ready with the spec objects, without a key', async () => {
    const live = await api('/v2/health/live');
    expect(live.status).toBe(200);
    conforms(await live.json(), 'live_server_response');
    const ready = await api('/v2/health/ready');
    expect(ready.status).toBe(200);
    conforms(await ready.json(), 'ready_server_response');
  });

  it("answers a model's readiness with $ready_model_response", async () => {
    for (const path of ['mymodel/ready', 'mymodel/versions/1/ready']) {
      const res = await api(`/v2/models/${path}`, { key: CLIENT_KEY });
      expect(res.status).toBe(200);
      const body = await res.json();
      conforms(body, 'ready_model_response');
      expect(body).toEqual({ name: 'mymodel', ready: true });
    }
  });

  it('answers GET /v2 with $metadata_server_response', async () => {
    const res = await api('/v2');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { name: string };
    conforms(body, 'metadata_server_response');
    expect(body.name).toBe('edgeloop');
  });

  it('answers model metadata with $metadata_model_response, through the alias or a version', async () => {
    for (const path of ['mymodel', 'mymodel/versions/1']) {
      const res = await api(`/v2/models/${path}`, { key: CLIENT_KEY });
      expect(res.status).toBe(200);
      const body = await res.json();
      conforms(body, 'metadata_model_response');
      expect(body).toEqual({
        name: 'mymodel',
        versions: ['1'],
        platform: 'tensorflowjs_layers',
        inputs: [
          { name: 'input0', datatype: 'INT32', shape: [-1, 2] },
          { name: 'input1', datatype: 'FP32', shape: [-1, 1] },
        ],
        outputs: [
          { name: 'output0', datatype: 'FP32', shape: [-1, 2] },
          { name: 'output1', datatype: 'FP32', shape: [-1, 1] },
        ],
      });
    }
  });
});

describe("the spec's inference example", () => {
  it('refuses the request unchanged with 400 INVALID_INPUT naming each datatype Edgeloop does not take', async () => {
    expect(await refusal(await infer(SPEC_REQUEST), 400, ErrorCode.INVALID_INPUT)).toMatch(/input0.*UINT32.*INT32/);
    const [input0, input1] = ADAPTED.inputs;
    const bool = { ...SPEC_REQUEST, inputs: [input0, SPEC_REQUEST.inputs[1]] };
    expect(await refusal(await infer(bool), 400, ErrorCode.INVALID_INPUT)).toMatch(/input1.*BOOL.*FP32/);
    // The example's input1 as FP32: its shape [3] is not the model's, and holds 3 elements, not 1.
    const fp32 = { ...SPEC_REQUEST, inputs: [input0, { ...SPEC_REQUEST.inputs[1], datatype: 'FP32', data: [1] }] };
    expect(await refusal(await infer(fp32), 400, ErrorCode.INVALID_INPUT)).toContain('shape [3]');
    const rightShape = { ...fp32, inputs: [input0, { ...input1, data: [1] }] };
    expect(await refusal(await infer(rightShape), 400, ErrorCode.INVALID_INPUT)).toContain('has 1 elements');
  });

  it('answers the adapted request with the structure of the spec response, output0 only, id echoed', async () => {
    const body = await answer(await infer(ADAPTED));
    expect(Object.keys(body).sort()).toEqual([...Object.keys(SPEC_RESPONSE), 'model_name', 'model_version'].sort());
    expect(body).toMatchObject({ model_name: 'mymodel', model_version: '1', id: SPEC_RESPONSE.id });
    expect(body.outputs).toHaveLength(SPEC_RESPONSE.outputs.length);
    const [output] = body.outputs;
    const [specOutput] = SPEC_RESPONSE.outputs;
    expect(Object.keys(output ?? {}).sort()).toEqual(Object.keys(specOutput ?? {}).sort());
    // The spec's model answers [3, 2]; this one answers a row per input row, flat and row-major.
    expect(output).toMatchObject({ name: 'output0', shape: [2, 2], datatype: specOutput?.datatype });
    expectClose(output?.data, WANT.output0);
  });

  it('leaves out id when the request has none, on either path', async () => {
    for (const path of ['mymodel', 'mymodel/versions/1']) {
      const body = await answer(await infer({ ...ADAPTED, id: undefined }, path));
      expect('id' in body).toBe(false);
      expect(body.model_version).toBe('1');
    }
  });

  it('takes $parameters on the request, its inputs and outputs, and answers as without them', async () => {
    const p = { content_type: 'np', priority: 1, flag: true };
    const withParameters = {
      ...ADAPTED,
      parameters: p,
      inputs: ADAPTED.inputs.map((input) => ({ ...input, parameters: p })),
      outputs: [{ name: 'output0', parameters: p }],
    };
    const body = await answer(await infer(withParameters));
    // Response parameters are optional in the spec; Edgeloop sets them only to explain.
    expect(body).toEqual(await answer(await infer(ADAPTED)));
    // [V2] "Parameters": "$parameter = $string : $string | $number | $boolean".
    const nested = { ...ADAPTED, parameters: { deep: { x: 1 } } };
    await refusal(await infer(nested), 400, ErrorCode.INVALID_BODY);
  });
});

describe('tensor data ([V2] "Tensor Data")', () => {
  it('answers the natural (nested) and flattened forms of the same tensor alike', async () => {
    const as = (input0: unknown, input1: unknown) => ({
      inputs: [
        { name: 'input0', shape: [2, 2], datatype: 'INT32', data: input0 },
        { name: 'input1', shape: [2, 1], datatype: 'FP32', data: input1 },
      ],
    });
    const flat = await answer(await infer(as(FLATTENED, [0, 1])));
    const nested = await answer(await infer(as(NATURAL, [[0], [1]])));
    expect(nested).toEqual(flat);
    const want = specOutputs(NATURAL, [0, 1]);
    expectClose(flat.outputs.find((o) => o.name === 'output0')?.data, want.output0);
    expectClose(flat.outputs.find((o) => o.name === 'output1')?.data, want.output1);
    // The answer's data is flat: as many elements as its shape holds.
    for (const output of flat.outputs) {
      expect(output.data).toHaveLength(output.shape.reduce((a, b) => a * b, 1));
    }
  });

  it('refuses nested data that does not match the shape', async () => {
    const ragged = {
      inputs: [
        { name: 'input0', shape: [2, 2], datatype: 'INT32', data: [[1, 2], [4]] },
        { name: 'input1', shape: [2, 1], datatype: 'FP32', data: [1, 0] },
      ],
    };
    expect(await refusal(await infer(ragged), 400, ErrorCode.INVALID_INPUT)).toContain('data[1]');
  });
});

describe('requested outputs', () => {
  const only = async (outputs: { name: string }[] | undefined) =>
    (await answer(await infer({ ...ADAPTED, outputs }))).outputs.map((o) => o.name).sort();

  it('returns the outputs asked for, and all of them when none are', async () => {
    expect(await only([{ name: 'output1' }])).toEqual(['output1']);
    expect(await only([{ name: 'output0' }])).toEqual(['output0']);
    expect(await only([{ name: 'output1' }, { name: 'output0' }])).toEqual(['output0', 'output1']);
    expect(await only(undefined)).toEqual(['output0', 'output1']);
    const body = await answer(await infer({ ...ADAPTED, outputs: [{ name: 'output1' }] }));
    expect(body.outputs[0]).toMatchObject({ shape: [2, 1], datatype: 'FP32' });
    expectClose(body.outputs[0]?.data, WANT.output1);
  });

  it('refuses an output the model does not have with 400 INVALID_INPUT', async () => {
    const unknown = { ...ADAPTED, outputs: [{ name: 'output0' }, { name: 'output2' }] };
    expect(await refusal(await infer(unknown), 400, ErrorCode.INVALID_INPUT)).toContain('"output2"');
  });
});

describe('error objects', () => {
  const raw = (body: string, type: string) =>
    api('/v2/models/mymodel/infer', { method: 'POST', key: CLIENT_KEY, headers: { 'Content-Type': type }, body });

  it.each<[string, () => Promise<Response>, number, ErrorCode]>([
    ['an unknown model', () => api('/v2/models/yourmodel', { key: CLIENT_KEY }), 404, ErrorCode.MODEL_NOT_FOUND],
    // [REST]'s own version example is "v10"; Edgeloop's versions are numbers.
    [
      'a version that is no number',
      () => api('/v2/models/mymodel/versions/v10', { key: CLIENT_KEY }),
      400,
      ErrorCode.BAD_REQUEST,
    ],
    [
      'a version no alias serves, for a client key',
      () => infer(ADAPTED, 'mymodel/versions/2'),
      403,
      ErrorCode.FORBIDDEN,
    ],
    ['no key', () => api('/v2/models/mymodel'), 401, ErrorCode.UNAUTHORIZED],
    ['an unknown route', () => api('/v2/repository/index', { method: 'POST' }), 404, ErrorCode.NOT_FOUND],
    [
      'a body that is not JSON',
      () => raw('{"id" : "42"\n"inputs": []}', 'application/json'),
      400,
      ErrorCode.INVALID_BODY,
    ],
    ['no inputs', () => infer({ id: '42', inputs: [] }), 400, ErrorCode.INVALID_BODY],
    ['another content type', () => raw(JSON.stringify(ADAPTED), 'text/plain'), 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE],
  ])('answers %s with {"error": $string} and a stable code', async (_what, send, status, code) => {
    await refusal(await send(), status, code);
  });
});
