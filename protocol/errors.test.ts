import { describe, expect, it } from 'vitest';
import { EdgeloopError, ErrorCode } from './errors.ts';

describe('EdgeloopError', () => {
  it('keeps its code across a thread boundary, where only name and message survive', () => {
    const original = new EdgeloopError(ErrorCode.UNKNOWN_PREDICTION, 'no prediction p1');
    const carried = Object.assign(new Error(original.message), { name: original.name });
    const rebuilt = EdgeloopError.from(carried);
    expect(rebuilt).toBeInstanceOf(EdgeloopError);
    expect(rebuilt.code).toBe('UNKNOWN_PREDICTION');
    expect(rebuilt.message).toBe('[UNKNOWN_PREDICTION] no prediction p1');
  });

  it('wraps foreign errors as INTERNAL and keeps the cause', () => {
    const cause = new TypeError('boom');
    const wrapped = EdgeloopError.from(cause);
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.cause).toBe(cause);
  });

  it('does not trust an unknown code in a message prefix', () => {
    expect(EdgeloopError.from(new Error('[NOT_A_CODE] x')).code).toBe('INTERNAL');
  });
});
