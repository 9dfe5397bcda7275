// JSON that crossed the network is read strictly: bytes that are not UTF-8 are refused, not
// replaced with U+FFFD (TextDecoder's default would store altered text), and a UTF-8 BOM is
// not skipped. Each caller maps the failure to its own error.

/**
 * `bytes` as UTF-8 text; throws TypeError when they are not UTF-8.
 *
 * @example
 * strictUtf8(Uint8Array.of(0x68, 0x69)); // 'hi'
 */
export function strictUtf8(bytes: Uint8Array | ArrayBuffer): string {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
}

/**
 * `bytes` parsed as JSON in UTF-8; throws (TypeError or SyntaxError) when they are not.
 *
 * @example
 * parseStrictJson(new TextEncoder().encode('{"v":1}')); // { v: 1 }
 */
export function parseStrictJson(bytes: Uint8Array | ArrayBuffer): unknown {
  return JSON.parse(strictUtf8(bytes));
}
