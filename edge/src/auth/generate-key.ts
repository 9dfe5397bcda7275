function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A fresh key id (public, appears in alias history) and secret key (256 random bits).
 *
 * @example
 * const { id, key } = generateKey(); // id "key_3f9a…", key "elk_…"
 */
export function generateKey(): { id: string; key: string } {
  return { id: `key_${randomHex(8)}`, key: `elk_${randomHex(32)}` };
}
