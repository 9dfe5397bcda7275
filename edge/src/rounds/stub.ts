/**
 * The RoundCoordinator of a model: one object per model, named by it.
 *
 * @example
 * const round = await roundsStub(env, 'digits').get('r_…');
 */
export function roundsStub(env: Env, model: string) {
  return env.ROUNDS.get(env.ROUNDS.idFromName(model));
}
