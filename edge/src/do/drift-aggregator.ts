import { DurableObject } from 'cloudflare:workers';

/**
 * One instance per model@version (DESIGN §5): it will merge client profiles into time
 * windows in its SQLite storage and answer drift queries. Declared now so the binding and
 * its migration exist from the first deploy; it has no behaviour yet.
 */
export class DriftAggregator extends DurableObject<Env> {}
