import { describe, expect, it } from 'vitest';
import { EdgeloopError, ErrorCode } from './errors.ts';

describe('EdgeloopError', () => {
  it('keeps its code and its message apart; String() shows both', () => {
    const error = new EdgeloopError(ErrorCode.UNKNOWN_PREDICTION, 'no prediction p1');
    expect(error).toMatchObject({ name: 'EdgeloopError', code: 'UNKNOWN_PREDICTION', message: 'no prediction p1' });
    expect(String(error)).toBe('[UNKNOWN_PREDICTION] no prediction p1');
  });

  it('rebuilds one whose name and code survived as properties (comlink without the transfer handler)', () => {
    const carried = Object.assign(new Error('no prediction p1'), { name: 'EdgeloopError', code: 'UNKNOWN_PREDICTION' });
    const rebuilt = EdgeloopError.from(carried);
    expect(rebuilt).toBeInstanceOf(EdgeloopError);
    expect(rebuilt).toMatchObject({ code: 'UNKNOWN_PREDICTION', message: 'no prediction p1' });
  });

  it('wraps foreign errors as INTERNAL and keeps the cause', () => {
    const cause = new TypeError('boom');
    const wrapped = EdgeloopError.from(cause);
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.cause).toBe(cause);
  });

  it('reads no code from message text, and none that is not in the list', () => {
    expect(EdgeloopError.from(new Error('[UNKNOWN_PREDICTION] x')).code).toBe('INTERNAL');
    const unknown = Object.assign(new Error('x'), { name: 'EdgeloopError', code: 'NOT_A_CODE' });
    expect(EdgeloopError.from(unknown).code).toBe('INTERNAL');
  });
});
