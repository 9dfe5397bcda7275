import { Hono } from 'hono';
import type { CardRound, ModelCard } from '../../../protocol/card.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { requireScope } from '../auth/require-scope.ts';
import { ApiError } from '../http/api-error.ts';
import { modelParam, versionParam } from '../http/params.ts';
import { roundsStub } from '../rounds/stub.ts';
import { requireModel } from '../routes/require-model.ts';
import { cardBody } from './generate.ts';
import { renderCard } from './markdown.ts';
import { readCardFacts } from './read.ts';

/** The round the lineage names (if any) and the model's privacy over all rounds: the one DO the card asks. */
async function roundsPart(env: Env, model: string, roundId: string | undefined) {
  const stub = roundsStub(env, model);
  const [round, privacy] = await Promise.all([roundId === undefined ? null : stub.get(model, roundId), stub.privacy()]);
  const part: CardRound =
    roundId === undefined
      ? { state: 'none' }
      : round === null
        ? { state: 'not-found', id: roundId }
        : { state: 'found', id: roundId, round };
  return { round: part, privacy };
}

/**
 * `GET /v1/models/{model}/versions/{version}/card` (read): the version's model card, as
 * Markdown and as JSON, generated on each request from the registry, runs, rounds and drift.
 */
export const cards = new Hono<AppEnv>().get('/:model/versions/:version/card', requireScope('read'), async (c) => {
  const model = modelParam(c);
  const version = versionParam(c);
  const facts = await readCardFacts(c.env.DB, model, version);
  if (!facts) {
    await requireModel(c.env.DB, model);
    throw new ApiError(404, ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
  }
  const { round, privacy } = await roundsPart(c.env, model, facts.info.manifest.lineage?.roundId);
  const card = cardBody(facts, round, privacy);
  return c.json<ModelCard>({ v: 1, model, version, markdown: renderCard(card), card });
});
