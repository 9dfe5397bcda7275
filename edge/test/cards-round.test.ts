import { describe, expect, it } from 'vitest';
import type { CardBody } from '../../protocol/card.ts';
import { renderCard } from '../src/cards/markdown.ts';
import { card, section } from './card-helpers.ts';
import { registerClient } from './helpers.ts';
import { askCurrent, delta, HELPFUL, openRound, publishRoundModel, sendUpdate, settledRound } from './round-helpers.ts';

describe('card of a version a round made', () => {
  const MODEL = 'card-round';
  let candidateVersion = 0;
  const body = (d: Float32Array) => new Uint8Array(d.buffer.slice(0));

  it('shows the round: settings, contributors, privacy spent (ε = ∞ without noise) and the gate', async () => {
    const base = await publishRoundModel(MODEL);
    const round = await openRound(MODEL, { maxClients: 3 });
    const identities = [];
    for (let i = 0; i < 3; i++) {
      const identity = await registerClient();
      expect((await askCurrent(MODEL, identity)).status).toBe(200);
      identities.push(identity);
    }
    for (const identity of identities)
      expect((await sendUpdate(MODEL, round.id, identity, body(delta({ [HELPFUL]: 1 })))).status).toBe(200);
    const done = await settledRound(MODEL, round.id);
    expect(done.status).toBe('done');
    const version = done.candidateVersion as number;
    candidateVersion = version;

    const { card: c, markdown } = await card(MODEL, version);
    expect(c.lineage).toMatchObject({ parentVersion: base, roundId: round.id, contributors: 3, examples: 60 });
    expect(c.round).toEqual({ state: 'found', id: round.id, round: done });
    expect(c.privacy).toEqual({ epsilon: null, delta: 1e-5, rounds: 1 });
    expect(section(markdown, '## Lineage')).toContain('| ε (epsilon) | ∞ (the round added no noise) |');
    const lines = section(markdown, '## Federated round');
    expect(lines).toContain(`| Round | ${round.id} |`);
    expect(lines).toContain('| Status | done |');
    expect(lines).toContain(`| Base version | v${base} |`);
    expect(lines).toContain(`| Candidate version | v${version} |`);
    expect(lines).toContain('| Contributors | 3 |');
    expect(lines).toContain('| Examples | 60 |');
    expect(lines).toContain('| Aggregator | fedavg |');
    expect(lines).toContain('| Noise multiplier | 0 |');
    expect(lines).toContain(
      'ε = ∞: no noise was added, so no finite ε bounds what this release reveals about a contributor.',
    );
    expect(lines.some((l) => /^Blessed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\.$/.test(l))).toBe(true);
    for (const reason of done.gate?.reasons ?? []) expect(lines).toContain(`- ${reason}`);
    const holdout = done.gate?.metrics[0];
    const candidate = String(Number(holdout?.candidate.toPrecision(6)));
    expect(lines.some((l) => l.startsWith('| holdout | 300 | ') && l.endsWith(` | ${candidate} |`))).toBe(true);
    expect(section(markdown, '## Privacy of the model (all rounds)')).toEqual([
      "ε = ∞ over 1 round(s) (δ = 0.00001): at least one round added no noise, so no finite ε bounds what the model's releases reveal.",
    ]);
    // The base was published by hand: no round made it, but the model's privacy is the same.
    const baseCard = await card(MODEL, base);
    expect(baseCard.card.round).toEqual({ state: 'none' });
    expect(baseCard.card.privacy).toEqual(c.privacy);
  });

  it('states a finite ε with its δ when every round added noise', async () => {
    const { card: c } = await card(MODEL, candidateVersion);
    if (c.round.state !== 'found' || !c.round.round.privacy) throw new Error('the round card is missing');
    const noised: CardBody = {
      ...c,
      round: {
        ...c.round,
        round: { ...c.round.round, privacy: { ...c.round.round.privacy, epsilon: 1.234567, noiseMultiplier: 1.1 } },
      },
      privacy: { epsilon: 2.5, delta: 1e-5, rounds: 2 },
    };
    const markdown = renderCard(noised);
    expect(section(markdown, '## Federated round')).toContain('| ε (epsilon) | 1.23457 |');
    expect(section(markdown, '## Privacy of the model (all rounds)')).toEqual([
      'ε = 2.5, δ = 0.00001 over 2 round(s), composed by Rényi DP.',
    ]);
  });
});
