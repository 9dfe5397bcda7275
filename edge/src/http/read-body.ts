import { ErrorCode } from '../../../protocol/errors.ts';
import { parseStrictJson } from '../../../protocol/strict-json.ts';
import { ApiError } from './api-error.ts';

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds ${maxBytes} bytes`);
}

/** Reads a stream into one buffer, failing as soon as it grows past `maxBytes`. */
async function collect(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Reads a request body of at most `maxBytes`, decoding `Content-Encoding: gzip`. The limit
 * applies to the bytes on the wire and again to the decoded bytes, so a small gzip bomb
 * cannot inflate past it. Throws 413 PAYLOAD_TOO_LARGE or 415 for other encodings.
 *
 * @example
 * const bytes = await readBody(c.req.raw, 5 * 1024 * 1024);
 * const batch = JSON.parse(new TextDecoder().decode(bytes));
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const encoding = (request.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    throw new ApiError(
      415,
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      `content-encoding ${encoding} is not supported (use gzip)`,
    );
  }
  if (!request.body) return new Uint8Array(0);
  const wire = await collect(request.body, maxBytes);
  if (encoding === 'identity') return wire;
  try {
    const inflated = new Blob([wire]).stream().pipeThrough(new DecompressionStream('gzip'));
    return await collect(inflated, maxBytes);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, ErrorCode.BAD_REQUEST, 'body is not valid gzip');
  }
}

/** The media type of a request without parameters, lower-cased (`""` when absent). */
export function mediaType(request: Request): string {
  return (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Reads a JSON request body (optionally gzip-encoded) of at most `maxBytes`: 415 unless it is
 * sent as application/json, 400 INVALID_BODY unless it is UTF-8 JSON. `what` names it in errors.
 *
 * @example
 * const json = await readJson(c.req.raw, MAX_EVENTS_BYTES, 'events');
 */
export async function readJson(request: Request, maxBytes: number, what: string): Promise<unknown> {
  if (mediaType(request) !== 'application/json') {
    throw new ApiError(
      415,
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      `send ${what} as application/json (optionally gzip-encoded)`,
    );
  }
  const bytes = await readBody(request, maxBytes);
  try {
    return parseStrictJson(bytes);
  } catch {
    throw new ApiError(400, ErrorCode.INVALID_BODY, 'body is not valid JSON');
  }
}
