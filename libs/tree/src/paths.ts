/**
 * Path helpers with ZooKeeper's exact string arithmetic: parents are found by
 * the last '/', so "/a" has parent "" — the alias ZooKeeper's node map keeps
 * for the root — and "/a/" has parent "/a".
 */
import { validatePath } from '@zooid/protocol';

export const ROOT = '/';
export const ZOOKEEPER = '/zookeeper';
export const QUOTA = '/zookeeper/quota';
export const CONFIG = '/zookeeper/config';

/** The nodes ZooKeeper refuses to delete (DataTree.isSpecialPath). */
export function isSpecialPath(path: string): boolean {
  return path === ROOT || path === ZOOKEEPER || path === QUOTA || path === CONFIG;
}

/** PathUtils.validatePath: true when ZooKeeper accepts the path. */
export function isValidPath(path: string): boolean {
  return validatePath(path, false) === null;
}

/** Text before the last '/', or null when there is none (ZooKeeper then answers BADARGUMENTS). */
export function parentOf(path: string): string | null {
  const i = path.lastIndexOf('/');
  return i < 0 ? null : path.slice(0, i);
}

export function childName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(parent: string, name: string): string {
  return parent === ROOT ? `/${name}` : `${parent}/${name}`;
}

/** The parent as watches see it: the root's "" alias is reported as "/". */
export function watchParent(parent: string): string {
  return parent === '' ? ROOT : parent;
}
