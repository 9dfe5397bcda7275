// protocol/ is ES2022 only (no DOM): declare the one WebCrypto call it uses, which every
// runtime Edgeloop targets provides.
type BufferSource = ArrayBuffer | ArrayBufferView;
declare const crypto: { subtle: { digest(algorithm: 'SHA-256', data: BufferSource): Promise<ArrayBuffer> } };
