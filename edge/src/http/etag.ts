/**
 * Whether `If-None-Match` names `etag` (or `*`), weak or strong: a GET that may answer 304.
 *
 * @example
 * if (matchesEtag(c.req.header('if-none-match'), '"abc"')) return c.body(null, 304, { ETag: '"abc"' });
 */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
