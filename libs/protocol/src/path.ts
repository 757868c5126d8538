/**
 * Znode path validation with the rules and messages of ZooKeeper's
 * PathUtils.validatePath. It works on UTF-16 code units like Java's chars, so
 * a lone or paired surrogate is refused the same way.
 */

/** True for the code units ZooKeeper refuses anywhere in a path (besides NUL). */
function isInvalidChar(c: number): boolean {
  return (
    (c > 0x0000 && c <= 0x001f) ||
    (c >= 0x007f && c <= 0x009f) ||
    (c >= 0xd800 && c <= 0xf8ff) ||
    (c >= 0xfff0 && c <= 0xffff)
  );
}

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * Returns why `path` is not a valid znode path, or null if it is. A
 * sequential node is checked with a counter appended, so "/a/" is a valid
 * prefix for a sequential create.
 */
export function validatePath(path: string, isSequential: boolean): string | null {
  const p = isSequential ? `${path}1` : path;
  if (p.length === 0) return 'Path length must be > 0';
  if (p.charCodeAt(0) !== SLASH) return 'Path must start with / character';
  if (p.length === 1) return null;
  if (p.charCodeAt(p.length - 1) === SLASH) return 'Path must not end with / character';

  const reason = firstInvalid(p);
  return reason === null ? null : `Invalid path string "${p}" caused by ${reason}`;
}

function firstInvalid(p: string): string | null {
  const endsAt = (i: number) => i + 1 === p.length || p.charCodeAt(i + 1) === SLASH;
  let last = SLASH;
  for (let i = 1; i < p.length; last = p.charCodeAt(i), i++) {
    const c = p.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === SLASH && last === SLASH) return `empty node name specified @${i}`;
    if (c === DOT && last === DOT) {
      // A ".." that is not a whole segment passes without the other checks, as in ZooKeeper.
      if (p.charCodeAt(i - 2) === SLASH && endsAt(i)) return `relative paths not allowed @${i}`;
    } else if (c === DOT) {
      if (last === SLASH && endsAt(i)) return `relative paths not allowed @${i}`;
    } else if (isInvalidChar(c)) {
      return `invalid character @${i}`;
    }
  }
  return null;
}
