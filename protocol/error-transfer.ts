import type { TransferHandler } from 'comlink';
import * as v from 'valibot';
import { EdgeloopError, ErrorCode } from './errors.ts';

/**
 * An EdgeloopError as it crosses a thread (worker ↔ page): its code a value beside the message,
 * never inside it.
 */
export const WireError = v.object({
  v: v.literal(1),
  name: v.literal('EdgeloopError'),
  code: v.picklist(Object.values(ErrorCode)),
  message: v.string(),
  stack: v.optional(v.string()),
});
export type WireError = v.InferOutput<typeof WireError>;

type Handlers = Map<string, TransferHandler<unknown, unknown>>;
const REGISTERED = Symbol('edgeloop errors');

/**
 * Registers the transfer of EdgeloopErrors in comlink's `transferHandlers`, on each side of a
 * connection: a thrown EdgeloopError crosses as a {@link WireError} and is thrown again on the
 * other side as an EdgeloopError with its code; anything else is left to comlink's own `throw`
 * handler. The wire value keeps that handler's shape too, so a side that did not register gets
 * an Error whose `name`, `code` and `message` are the original's (EdgeloopError.from reads them).
 * Registering twice changes nothing.
 *
 * @example
 * import { transferHandlers } from 'comlink';
 * registerErrorTransfer(transferHandlers);
 */
export function registerErrorTransfer(handlers: Handlers): void {
  const stock = handlers.get('throw');
  if (!stock || REGISTERED in stock) return;
  const handler = {
    [REGISTERED]: true,
    canHandle: (value: unknown): value is unknown => stock.canHandle(value),
    serialize(thrown: unknown): ReturnType<TransferHandler<unknown, unknown>['serialize']> {
      const { value } = thrown as { value: unknown };
      if (!(value instanceof EdgeloopError)) return stock.serialize(thrown);
      const wire: WireError = {
        v: 1,
        name: 'EdgeloopError',
        code: value.code,
        message: value.message,
        ...(value.stack ? { stack: value.stack } : {}),
      };
      return [
        {
          isError: true,
          value: { name: wire.name, code: wire.code, message: wire.message, stack: wire.stack },
          edgeloop: wire,
        },
        [],
      ];
    },
    deserialize(serialized: unknown): unknown {
      const wire = v.safeParse(WireError, (serialized as { edgeloop?: unknown }).edgeloop);
      if (!wire.success) return stock.deserialize(serialized);
      const error = new EdgeloopError(wire.output.code, wire.output.message);
      if (wire.output.stack) error.stack = wire.output.stack;
      throw error;
    },
  };
  handlers.set('throw', handler);
}
