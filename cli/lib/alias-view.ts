import type { AliasInfo, Rollout } from '../../protocol/index.ts';
import type { Context } from './command.ts';
import { time } from './format.ts';

/** A rollout in words: `canary v2 at 10%, shadow v3`, or `none`. */
export function describeRollout(rollout: Rollout): string {
  const parts: string[] = [];
  if (rollout.canary) parts.push(`canary v${rollout.canary.version} at ${rollout.canary.percent}%`);
  if (rollout.shadow) parts.push(`shadow v${rollout.shadow.version}`);
  return parts.join(', ') || 'none';
}

/** Prints an alias, its rollout and its newest `limit` history entries. */
export function printAlias(ctx: Context, info: AliasInfo, limit = 1): void {
  ctx.out(`${info.model}@${info.alias} → v${info.version} (rollout: ${describeRollout(info.rollout)})`);
  for (const e of info.history.slice(0, limit)) {
    const change = e.kind === 'rollout' ? describeRollout(e.rollout ?? {}) : `v${e.from ?? '-'} → v${e.to}`;
    ctx.out(`  ${time(e.at)}  ${e.kind}  ${change}${e.reason ? `: ${e.reason}` : ''}`);
  }
}
