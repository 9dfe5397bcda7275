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

  it('adds the labels held out and the held-out evaluation of the candidate, with a refusal’s code', () => {
    const last = { id: 'r_2', model: 'digits', examples: 40, norm: 1, clipped: false, at: 0, state: 'sent' as const };
    const evaluation = { state: 'sent' as const, examples: 10, baseCorrect: 6, candidateCorrect: 8 };
    expect(describeFederated({ enabled: true, lastRound: { ...last, heldOut: 10, evaluation } })).toBe(
      'taking part on its own · round r_2: update sent, 40 labels, 10 held out, norm 1.000 · held-out evaluation sent: base 6/10, candidate 8/10',
    );
    const rejection = { code: 'ROUND_CLOSED', message: 'closed' };
    expect(
      describeFederated({
        enabled: true,
        lastRound: { ...last, heldOut: 10, evaluation: { ...evaluation, state: 'rejected', rejection } },
      }),
    ).toMatch(/held-out evaluation refused \(ROUND_CLOSED\): base 6\/10, candidate 8\/10$/);
  });
});
