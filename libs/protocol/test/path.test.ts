import { describe, expect, it } from 'vitest';
import { validatePath } from '../src/path.js';

describe('validatePath', () => {
  it.each([
    '/',
    '/a',
    '/this is / a valid/path',
    '/name/with.period.',
    '/..a/a..',
    '/...',
    '/.a',
    '/zookeeper/quota',
    '/test\u0020',
    '/test\u007e',
    '/test\u00a0',
    '/test\uf900',
    '/test\uffef',
    '/ünicöde-€',
  ])('accepts %j', (path) => {
    expect(validatePath(path, false)).toBeNull();
  });

  it.each([
    ['', 'Path length must be > 0'],
    ['a/b', 'Path must start with / character'],
    ['/ends/with/slash/', 'Path must not end with / character'],
    ['/test\u0000', 'Invalid path string "/test\u0000" caused by null character not allowed @5'],
    ['/double//slash', 'Invalid path string "/double//slash" caused by empty node name specified @8'],
    ['/single/./period', 'Invalid path string "/single/./period" caused by relative paths not allowed @8'],
    ['/double/../period', 'Invalid path string "/double/../period" caused by relative paths not allowed @9'],
    ['/.', 'Invalid path string "/." caused by relative paths not allowed @1'],
    ['/a/..', 'Invalid path string "/a/.." caused by relative paths not allowed @4'],
    ['/test\u0001', 'Invalid path string "/test\u0001" caused by invalid character @5'],
    ['/test\u001f', 'Invalid path string "/test\u001f" caused by invalid character @5'],
    ['/test\u007f', 'Invalid path string "/test\u007f" caused by invalid character @5'],
    ['/test\u009f', 'Invalid path string "/test\u009f" caused by invalid character @5'],
    ['/test\ud800', 'Invalid path string "/test\ud800" caused by invalid character @5'],
    ['/test\uf8ff', 'Invalid path string "/test\uf8ff" caused by invalid character @5'],
    ['/test\ufff0', 'Invalid path string "/test\ufff0" caused by invalid character @5'],
    ['/emoji-\u{1F600}', 'Invalid path string "/emoji-\u{1F600}" caused by invalid character @7'],
  ])('refuses %j', (path, reason) => {
    expect(validatePath(path, false)).toBe(reason);
  });

  it('checks a sequential path with the counter appended', () => {
    expect(validatePath('/queue/', true)).toBeNull();
    expect(validatePath('/', true)).toBeNull();
    expect(validatePath('/queue/', false)).toBe('Path must not end with / character');
    expect(validatePath('/a//', true)).toBe('Invalid path string "/a//1" caused by empty node name specified @3');
    expect(validatePath('/a/.', true)).toBeNull();
    expect(validatePath('', true)).toBe('Path must start with / character');
  });
});
