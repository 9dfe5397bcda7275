import { describe, expect, it } from 'vitest';
import { describeFederated } from './federated-summary.ts';

describe('describeFederated', () => {
  it('says whether the device takes part on its own', () => {
    expect(describeFederated({ enabled: false, lastRound: null })).toBe('off (only when asked) · no round yet');
    expect(describeFederated({ enabled: true, lastRound: null })).toBe('taking part on its own · no round yet');
  });

  it("names the last round's update state, its labels and norm, and a refusal's code", () => {
    const last = { id: 'r_1', model: 'digits', examples: 50, norm: 2.5, clipped: true, at: 0 };
    expect(describeFederated({ enabled: true, lastRound: { ...last, state: 'sent' } })).toBe(
      'taking part on its own · round r_1: update sent, 50 labels, norm 2.500, clipped',
    );
    const rejection = { code: 'ROUND_CLOSED', message: 'closed' };
    expect(
      describeFederated({ enabled: false, lastRound: { ...last, clipped: false, state: 'rejected', rejection } }),
    ).toBe('off (only when asked) · round r_1: update refused (ROUND_CLOSED), 50 labels, norm 2.500');
    expect(describeFederated({ enabled: true, lastRound: { ...last, state: 'pending' } })).toMatch(
      /update waiting to be sent/,
    );
  });
});
