// protocol/ is ES2022 only (no DOM): declare the WebCrypto call and the text decoder it uses,
// which every runtime Edgeloop targets provides.
type BufferSource = ArrayBuffer | ArrayBufferView;
declare const crypto: { subtle: { digest(algorithm: 'SHA-256', data: BufferSource): Promise<ArrayBuffer> } };
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: BufferSource): string;
}
