// Reads resource files for `apply -f` / `delete -f`: YAML (multi-document) or JSON, files, folders or stdin,
// keeping each document's source so that an error can name its file, line and column.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { InvalidError, type FieldIssue } from '../core/errors.js';

export interface ManifestDocument {
  readonly value: unknown;
  readonly file: string;
  /** Folder relative paths in the document resolve against. */
  readonly baseDir: string;
  /** Position of the document in its file, from 1. */
  readonly position: number;
  readonly node: Document.Parsed | undefined;
  readonly lines: LineCounter;
}

export function readManifests(
  paths: readonly string[],
  stdin: () => string,
  cwd = process.cwd(),
): ManifestDocument[] {
  const documents: ManifestDocument[] = [];
  for (const path of paths) {
    if (path === '-') {
      documents.push(...parseManifest(stdin(), '<stdin>', cwd));
      continue;
    }
    const absolute = resolve(cwd, path);
    let files: string[];
    try {
      files = statSync(absolute).isDirectory()
        ? readdirSync(absolute)
            .filter((name) => /\.(ya?ml|json)$/.test(name))
            .sort()
            .map((name) => join(absolute, name))
        : [absolute];
    } catch (error) {
      throw new InvalidError(
        `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        [],
        {
          hint: 'Check the path given to -f.',
        },
      );
    }
    for (const file of files)
      documents.push(...parseManifest(readFileSync(file, 'utf8'), file, dirname(file)));
  }
  if (documents.length === 0) {
    throw new InvalidError(`no resources found in ${paths.join(', ')}`, [], {
      hint: 'Files need at least one YAML/JSON document.',
    });
  }
  return documents;
}

export function parseManifest(text: string, file: string, baseDir: string): ManifestDocument[] {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const documents = Array.isArray(parsed) ? parsed : [parsed];
  const issues: FieldIssue[] = [];
  const result: ManifestDocument[] = [];
  documents.forEach((document, index) => {
    for (const error of document.errors) {
      const { line, col } = lines.linePos(error.pos[0]);
      issues.push({ path: `${file}:${line}:${col}`, message: error.message.split('\n')[0] ?? error.message });
    }
    if (document.errors.length > 0) return;
    let value: unknown;
    try {
      value = document.toJS() as unknown;
    } catch (error) {
      // An unresolved alias (`*name` without `&name`) only shows up when the document is converted.
      const { line, col } = lines.linePos(document.range[0]);
      issues.push({ path: `${file}:${line}:${col}`, message: (error as Error).message });
      return;
    }
    if (value === null || value === undefined) return; // an empty document (a trailing ---)
    result.push({ value, file, baseDir, position: index + 1, node: document, lines });
  });
  if (issues.length > 0) {
    throw new InvalidError(`${file} is not valid YAML`, issues, { hint: 'Nothing was applied.' });
  }
  return result;
}

/** `file:line:col` of the field a server-side issue names, or of its nearest existing parent. */
export function locate(document: ManifestDocument, path: string): string {
  const segments = parsePath(path);
  const root = document.node;
  if (root === undefined) return document.file;
  for (let length = segments.length; length >= 0; length -= 1) {
    const node = length === 0 ? root.contents : root.getIn(segments.slice(0, length), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range !== undefined) {
      const { line, col } = document.lines.linePos(range[0]);
      return `${document.file}:${line}:${col}`;
    }
  }
  return document.file;
}

function parsePath(path: string): (string | number)[] {
  if (path === '(root)' || path === '') return [];
  const segments: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[1] !== undefined) segments.push(match[1]);
  }
  return segments;
}
