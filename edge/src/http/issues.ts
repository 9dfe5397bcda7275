/** The part of a validation issue this module reads: valibot and Standard Schema issues both fit. */
export interface IssueLike {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: unknown }> | undefined;
}

function formatPath(path: IssueLike['path'], root: string): string {
  let out = root;
  for (const segment of path ?? []) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/**
 * One line naming each failing field and why, for an error `message`.
 *
 * @example
 * describeIssues(v.safeParse(Manifest, m).issues ?? [], 'manifest')
 * // 'manifest.inputs[0].dtype: Invalid type: Expected ("float32" | "int32") but received "float16"'
 */
export function describeIssues(issues: readonly IssueLike[], root = ''): string {
  const shown = issues.slice(0, 3).map((issue) => {
    const where = formatPath(issue.path, root);
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  if (issues.length > shown.length) shown.push(`(${issues.length - shown.length} more)`);
  return shown.join('; ');
}
