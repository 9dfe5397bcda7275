import { type DriftBasis, mergeProfiles, type Profile, WINDOW_MS } from '../../../protocol/profile/index.ts';

/**
 * Established rows a range needs to be judged on its own. A fleet whose profiles straddle an
 * hour boundary leaves a window of a few rows, whose sketches say little: judged alone it
 * looks drifted by chance.
 */
export const MIN_JUDGED_ROWS = 100;

/** Earlier hours a thin range may be judged together with, nearest first. */
export const LOOKBACK_WINDOWS = 5;

/** One hour window's established (judged) rows as one profile. */
export interface EstablishedWindow {
  window: number;
  profile: Profile;
}

/**
 * What the range [from, to) is judged on, from the established windows of
 * [from - LOOKBACK_WINDOWS hours, to) (ascending): its own rows when there are MIN_JUDGED_ROWS;
 * else its rows with the nearest earlier windows' until there are (`with-previous`); else
 * nothing (`too-small`, profile null). A range without rows of its own is never judged on its
 * neighbours' alone.
 *
 * @example
 * const { profile, judged, span } = judgeRange(windows, hour, hour + WINDOW_MS);
 */
export function judgeRange(
  windows: readonly EstablishedWindow[],
  from: number,
  to: number,
): { profile: Profile | null; judged: DriftBasis['judged']; span: DriftBasis['span']; rows: number } {
  let profile: Profile | null = null;
  for (const w of windows) {
    if (w.window >= from && w.window < to) profile = profile ? mergeProfiles(profile, w.profile) : w.profile;
  }
  const rows = profile?.count ?? 0;
  if (rows >= MIN_JUDGED_ROWS) return { profile, judged: 'alone', span: { from, to }, rows };
  const earlier = windows.filter((w) => w.window < from && w.window >= from - LOOKBACK_WINDOWS * WINDOW_MS).reverse();
  for (const w of profile ? earlier : []) {
    profile = mergeProfiles(w.profile, profile as Profile);
    if (profile.count >= MIN_JUDGED_ROWS)
      return { profile, judged: 'with-previous', span: { from: w.window, to }, rows };
  }
  return { profile: null, judged: 'too-small', span: { from, to }, rows };
}
