import { describe, expect, it } from 'vitest';
import { ModelCache } from '../src/infer/model-cache.ts';

const model = (name: string, bytes: number) => async () => ({ model: name, bytes });

describe('ModelCache', () => {
  it('keeps models within the budget, dropping the least recently used and disposing them', async () => {
    const disposed: string[] = [];
    const cache = new ModelCache<string>(100, (m) => disposed.push(m));
    expect(await cache.use('a', model('A', 40), (m) => m)).toEqual({ value: 'A', hit: false });
    await cache.use('b', model('B', 40), (m) => m);
    expect(await cache.use('a', model('A2', 40), (m) => m)).toEqual({ value: 'A', hit: true });
    await cache.use('c', model('C', 40), (m) => m);
    expect(cache.keys()).toEqual(['a', 'c']);
    await Promise.resolve();
    expect(disposed).toEqual(['B']);
  });

  it('loads a cold model once for concurrent requests, and forgets a failed load', async () => {
    let loads = 0;
    const cache = new ModelCache<string>(100, () => undefined);
    const slow = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return { model: 'M', bytes: 10 };
    };
    const answers = await Promise.all([1, 2, 3].map(() => cache.use('m', slow, (m) => m)));
    expect(loads).toBe(1);
    expect(answers.map((a) => a.hit)).toEqual([false, true, true]);
    const failing = async (): Promise<{ model: string; bytes: number }> => {
      throw new Error('corrupt');
    };
    await expect(cache.use('x', failing, (m) => m)).rejects.toThrow('corrupt');
    expect(await cache.use('x', model('X', 10), (m) => m)).toEqual({ value: 'X', hit: false });
  });

  it('never disposes a model while a request uses it', async () => {
    const disposed: string[] = [];
    const cache = new ModelCache<string>(50, (m) => disposed.push(m));
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const using = cache.use('a', model('A', 40), async (m) => {
      await held;
      return m;
    });
    await new Promise((r) => setTimeout(r, 0));
    await cache.use('b', model('B', 40), (m) => m);
    expect(disposed).toEqual([]);
    release();
    expect((await using).value).toBe('A');
  });
});
