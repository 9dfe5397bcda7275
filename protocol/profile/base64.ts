import { EdgeloopError } from '../errors.ts';

// protocol/ is ES2022 only and atob/btoa are not part of it (nor declared in globals.d.ts),
// so sketches are encoded with this small codec (standard alphabet, with padding).
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes bytes as standard base64 with padding.
 *
 * @example
 * encodeBase64(new Uint8Array([1, 2, 3])) // 'AQID'
 */
export function encodeBase64(bytes: Uint8Array): string {
  const out: string[] = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const t = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out.push(
      ALPHABET.charAt(t >> 18) +
        ALPHABET.charAt((t >> 12) & 63) +
        ALPHABET.charAt((t >> 6) & 63) +
        ALPHABET.charAt(t & 63),
    );
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const t = ((bytes[i] ?? 0) << 16) | (rest === 2 ? (bytes[i + 1] ?? 0) << 8 : 0);
    out.push(
      ALPHABET.charAt(t >> 18) +
        ALPHABET.charAt((t >> 12) & 63) +
        (rest === 2 ? ALPHABET.charAt((t >> 6) & 63) : '=') +
        '=',
    );
  }
  return out.join('');
}

/**
 * Decodes standard base64 with padding; throws INVALID_PROFILE on anything else.
 *
 * @example
 * decodeBase64('AQID') // Uint8Array [1, 2, 3]
 */
export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new EdgeloopError('INVALID_PROFILE', 'base64 length must be a multiple of 4');
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let t = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      const isPad = c === 61 && i + j >= text.length - pad;
      const d = isPad ? 0 : c < 128 ? (LOOKUP[c] ?? -1) : -1;
      if (d < 0) throw new EdgeloopError('INVALID_PROFILE', 'invalid base64');
      t = (t << 6) | d;
    }
    bytes[o++] = t >> 16;
    if (o < bytes.length) bytes[o++] = (t >> 8) & 255;
    if (o < bytes.length) bytes[o++] = t & 255;
  }
  return bytes;
}
