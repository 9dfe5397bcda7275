/**
 * A queue that runs the tasks given to it one after another, in call order; a failed task does
 * not stop the ones after it. Used so two syncs never send the same events twice and a load
 * never swaps the model out from under a training run.
 *
 * @example
 * const exclusive = serialQueue();
 * const [a, b] = await Promise.all([exclusive(() => sync()), exclusive(() => sync())]); // b starts after a ends
 */
export function serialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}
