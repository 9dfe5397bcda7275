import * as v from 'valibot';
import { Scope } from '../../../protocol/keys.ts';

// What each scope implies: admin is everything, publish can also read.
const implied: Record<Scope, readonly Scope[]> = {
  admin: ['admin', 'publish', 'read', 'client'],
  publish: ['publish', 'read'],
  read: ['read'],
  client: ['client'],
};

/**
 * Whether keys holding `held` may act with scope `needed`.
 *
 * @example
 * grants(['publish'], 'read') // true
 * grants(['client'], 'publish') // false
 */
export function grants(held: readonly Scope[], needed: Scope): boolean {
  return held.some((scope) => implied[scope].includes(needed));
}

/** Scopes as stored in D1 (comma-separated); unknown entries are dropped. */
export function parseScopes(stored: string): Scope[] {
  return stored.split(',').filter((s): s is Scope => v.is(Scope, s));
}
