// IEEE 754 binary16 (F16) and bfloat16 (BF16) to and from float32 bit patterns, for the
// safetensors codec: neither has a typed array in the runtimes Edgeloop targets.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The value of F16 bits `h` (exact in float32).
 *
 * @example
 * halfToFloat(0x3c00); // 1
 */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/**
 * F16 bits of `x` as float32, rounded to nearest, ties to even (as numpy's astype(float16)):
 * past 65504 gives ±Infinity, below 2^-25 ±0, NaN a quiet NaN.
 *
 * @example
 * floatToHalf(1); // 0x3c00
 */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // A subnormal half: the mantissa with its implicit 1, shifted down; ±0 below half the smallest.
    if (e < -10) return sign;
    const shift = 14 - e;
    const full = mantissa | 0x800000;
    return sign | roundedShift(full, shift);
  }
  // A carry out of the mantissa rounds into the exponent, up to Infinity: still the right bits.
  return sign | ((e << 10) + roundedShift(mantissa, 13));
}

/** `value >>> shift` rounded to nearest, ties to even. */
function roundedShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return kept + (rest > half || (rest === half && kept & 1) ? 1 : 0);
}

/**
 * The value of BF16 bits `b`: the high half of a float32.
 *
 * @example
 * bfloatToFloat(0x3f80); // 1
 */
export function bfloatToFloat(b: number): number {
  u32[0] = b << 16;
  return f32[0] as number;
}

/**
 * BF16 bits of `x` as float32, rounded to nearest, ties to even (as PyTorch's to(bfloat16)).
 *
 * @example
 * floatToBfloat(1); // 0x3f80
 */
export function floatToBfloat(x: number): number {
  f32[0] = x;
  const bits = u32[0] as number;
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return ((bits >>> 16) & 0x8000) | 0x7fc0;
  return roundedShift(bits, 16);
}
