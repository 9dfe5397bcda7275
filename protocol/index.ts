export * from './errors.ts';
export * from './events.ts';
export * from './hash.ts';
export * from './manifest.ts';
export * from './names.ts';
export * from './registry.ts';
export * from './worker-api.ts';
