import * as v from 'valibot';
import { type KeyInfo, Scope } from '../../protocol/index.ts';
import { type Command, type Context, emit, requireFlag, takeArgs } from '../lib/command.ts';
import { usageError } from '../lib/errors.ts';
import { table, time } from '../lib/format.ts';

const usage = 'edgeloop keys list | keys create --name <name> --scope <scope>[,<scope>] | keys revoke <id>';
const createUsage = 'edgeloop keys create --name <name> --scope <scope>[,<scope>]';

function parseScopes(text: string): Scope[] {
  return text.split(',').map((s) => {
    const scope = s.trim();
    if (!v.is(Scope, scope)) throw usageError(`unknown scope "${scope}"; scopes: ${Scope.options.join(', ')}`);
    return scope;
  });
}

function printKeys(ctx: Context, keys: KeyInfo[]): void {
  const rows = keys.map((k) => [
    k.id,
    k.name,
    k.scopes.join(','),
    time(k.createdAt),
    k.revokedAt ? 'revoked' : 'active',
  ]);
  for (const line of table([['ID', 'NAME', 'SCOPES', 'CREATED', 'STATE'], ...rows])) ctx.out(line);
}

export const keys: Command = {
  name: 'keys',
  summary: 'API keys: list, create, revoke (admin key needed)',
  help: `${usage}

  keys list                                   every key (never the key itself)
  keys create --name <name> --scope <scopes>  a new key, shown once; scopes: ${Scope.options.join(', ')}
  keys revoke <id>                            revoke a key`,
  options: { name: { type: 'string' }, scope: { type: 'string' } },
  async run(ctx) {
    const [sub, ...rest] = ctx.positionals;
    const subCtx = { ...ctx, positionals: rest };
    if (sub !== 'create' && (ctx.values.name !== undefined || ctx.values.scope !== undefined)) {
      throw usageError(`--name and --scope only apply to keys create; usage: ${createUsage}`);
    }
    if (sub === 'list') {
      takeArgs(subCtx, 'edgeloop keys list', []);
      const list = await ctx.client.listKeys();
      return emit(ctx, list, () => printKeys(ctx, list.keys));
    }
    if (sub === 'create') {
      takeArgs(subCtx, createUsage, []);
      const name = requireFlag(ctx, 'name', createUsage);
      const scopes = parseScopes(requireFlag(ctx, 'scope', createUsage));
      const created = await ctx.client.createKey(name, scopes);
      return emit(ctx, created, () => {
        ctx.out(`created key ${created.id} "${created.name}" (${created.scopes.join(',')})`);
        ctx.out(`key: ${created.key}`);
        ctx.out('(shown once: store it now)');
      });
    }
    if (sub === 'revoke') {
      const [id = ''] = takeArgs(subCtx, 'edgeloop keys revoke <id>', ['id']);
      const key = await ctx.client.revokeKey(id);
      return emit(ctx, key, () => ctx.out(`revoked key ${key.id} "${key.name}"`));
    }
    throw usageError(
      sub === undefined ? `missing subcommand; usage: ${usage}` : `unknown keys subcommand "${sub}"; usage: ${usage}`,
    );
  },
};
