import { IDBKeyRange } from 'fake-indexeddb';
import type { IndexedDbSource } from '../db.ts';

/**
 * An IndexedDB source for one tab whose connections `kill()` closes, as when the tab dies
 * (unit tests on fake-indexeddb).
 *
 * @example
 * const tab = tabStorage(new IDBFactory());
 * await startWorker({ storage: tab.source });
 * tab.kill();
 */
export function tabStorage(factory: IDBFactory): { source: IndexedDbSource; kill(): void } {
  const open: IDBDatabase[] = [];
  const indexedDB = new Proxy(factory, {
    get(target, prop) {
      if (prop === 'open') {
        return (name: string, version?: number) => {
          const request = target.open(name, version);
          request.addEventListener('success', () => open.push(request.result));
          return request;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const kill = () => {
    for (const db of open.splice(0)) db.close();
  };
  return { source: { indexedDB, IDBKeyRange }, kill };
}
