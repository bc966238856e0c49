import { describe, expect, it } from 'vitest';
import { InvalidError } from '../core/errors.js';
import { locate, parseManifest } from './manifest-files.js';

describe('parseManifest', () => {
  it('keeps every document with its position and skips empty ones', () => {
    const documents = parseManifest('a: 1\n---\n---\nb: [2]\n', 'x.yaml', '/srv');
    expect(documents.map((document) => [document.position, document.value])).toEqual([
      [1, { a: 1 }],
      [3, { b: [2] }],
    ]);
  });

  it('reports syntax errors and unresolved aliases with file:line:column', () => {
    for (const text of ['kind: Component\nmetadata: { name: x\n', 'a: *missing\n']) {
      try {
        parseManifest(text, 'broken.yaml', '/srv');
        expect.unreachable('parse should fail');
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidError);
        expect((error as InvalidError).issues[0]?.path).toMatch(/^broken\.yaml:\d+:\d+$/);
      }
    }
  });

  it('locates a field, or its nearest parent when the field is missing', () => {
    const [document] = parseManifest('kind: ReleaseBinding\nspec:\n  replicas: three\n', 'b.yaml', '/srv');
    if (document === undefined) throw new Error('no document');
    expect(locate(document, 'spec.replicas')).toBe('b.yaml:3:13');
    expect(locate(document, 'spec.resources.limits')).toBe('b.yaml:3:3');
    expect(locate(document, '(root)')).toBe('b.yaml:1:1');
  });
});
