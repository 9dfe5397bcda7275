/**
 * The DriftAggregator of model@version: one object per version, named by it.
 *
 * @example
 * const merged = await driftStub(env, 'digits', 3).merged(from, to);
 */
export function driftStub(env: Env, model: string, version: number) {
  return env.DRIFT.get(env.DRIFT.idFromName(`${model}@${version}`));
}
