// The `mnist` package ships no types; this declares the part the digits model reads.
declare module 'mnist' {
  interface MnistDigit {
    /** The digit, 0–9. */
    id: number;
    /** Every sample of this digit, 784 values in [0, 1] (3 decimals) each, concatenated. */
    raw: number[];
    /** Number of samples in `raw`. */
    length: number;
  }
  const mnist: MnistDigit[];
  export default mnist;
}
