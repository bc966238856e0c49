// Turns raw documents (parsed YAML/JSON) into validated resources, collecting every problem with its document
// index and field path instead of stopping at the first one. Pure: no I/O.
import { isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { formatPath, type FieldIssue } from '../core/errors.js';
import {
  apiVersion,
  documentSchema,
  kindInfo,
  kinds,
  type ComponentSpec,
  type Kind,
  type KindInfo,
  type WorkflowSpec,
} from './resource-kinds.js';

export interface ParsedDocument {
  readonly index: number;
  readonly kind: Kind;
  readonly info: KindInfo;
  readonly name: string;
  /** '' for cluster-scoped kinds. */
  readonly namespace: string;
  readonly project: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: unknown;
}

export interface ParseResult {
  readonly documents: ParsedDocument[];
  readonly issues: FieldIssue[];
}

export interface ParseOptions {
  /**
   * Folder that relative paths (`cwd`) resolve against: the applied file's folder. One per document when the
   * documents come from files in different folders.
   */
  readonly baseDir?: string | readonly string[] | undefined;
  readonly defaultNamespace?: string | undefined;
}

export function parseDocuments(raw: readonly unknown[], options: ParseOptions = {}): ParseResult {
  const documents: ParsedDocument[] = [];
  const issues: FieldIssue[] = [];
  const seen = new Map<string, number>();

  raw.forEach((input, index) => {
    const add = (path: readonly PropertyKey[], message: string): void => {
      issues.push({ document: index, path: formatPath(path), message });
    };
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      add([], `expected a resource (a mapping with apiVersion, kind, metadata and spec)`);
      return;
    }
    const envelope = documentSchema.safeParse(input);
    if (!envelope.success) {
      for (const issue of envelope.error.issues)
        for (const [path, message] of describeIssue(issue)) add(path, message);
      return;
    }
    const { kind: kindText, metadata } = envelope.data;
    const kind = kinds.find((candidate) => candidate === kindText);
    if (kind === undefined) {
      add(['kind'], `unknown kind '${kindText}'; expected one of ${kinds.join(', ')}`);
      return;
    }
    const info = kindInfo[kind];
    if (!info.applicable) {
      add(['kind'], `${kind} resources are created by the platform; apply the Component instead`);
      return;
    }
    if (info.scope === 'cluster' && metadata.namespace !== undefined) {
      add(['metadata', 'namespace'], `${kind} is cluster-scoped; remove metadata.namespace`);
    }
    if (metadata.project !== undefined && !['Component', 'ReleaseBinding'].includes(kind)) {
      add(['metadata', 'project'], `${kind} does not belong to a project; remove metadata.project`);
    }
    const spec = info.spec.safeParse(envelope.data.spec);
    if (!spec.success) {
      for (const issue of spec.error.issues) {
        for (const [path, message] of describeIssue(issue)) add(['spec', ...path], message);
      }
      return;
    }
    const namespace =
      info.scope === 'cluster' ? '' : (metadata.namespace ?? options.defaultNamespace ?? 'default');
    const key = `${kind}/${namespace}/${metadata.name}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      add(['metadata', 'name'], `${kind} ${metadata.name} is also defined in document ${earlier + 1}`);
      return;
    }
    seen.set(key, index);
    const baseDir = typeof options.baseDir === 'string' ? options.baseDir : options.baseDir?.[index];
    const resolved = resolvePaths(kind, spec.data, baseDir, (path, message) => {
      add(['spec', ...path], message);
    });
    documents.push({
      index,
      kind,
      info,
      name: metadata.name,
      namespace,
      project: kind === 'Project' ? metadata.name : metadata.project,
      labels: metadata.labels ?? {},
      annotations: metadata.annotations ?? {},
      spec: resolved,
    });
  });
  return { documents, issues };
}

/** Makes `cwd` fields absolute against the applied file's folder; a server cannot guess that folder. */
function resolvePaths(
  kind: Kind,
  spec: unknown,
  baseDir: string | undefined,
  report: (path: readonly PropertyKey[], message: string) => void,
): unknown {
  const absolute = (path: readonly PropertyKey[], value: string | undefined): string | undefined => {
    if (value === undefined || isAbsolute(value)) return value;
    if (baseDir === undefined) {
      report(
        path,
        `relative path '${value}' needs a base folder; apply the file with the CLI or use an absolute path`,
      );
      return value;
    }
    return resolve(baseDir, value);
  };
  if (kind === 'Component') {
    const component = spec as ComponentSpec;
    return {
      ...component,
      run: { ...component.run, cwd: absolute(['run', 'cwd'], component.run.cwd) },
      ...(component.build === undefined
        ? {}
        : { build: { ...component.build, cwd: absolute(['build', 'cwd'], component.build.cwd) } }),
    };
  }
  if (kind === 'Workflow') {
    const workflow = spec as WorkflowSpec;
    return {
      ...workflow,
      steps: workflow.steps.map((step, index) => ({
        ...step,
        cwd: absolute(['steps', index, 'cwd'], step.cwd),
      })),
    };
  }
  return spec;
}

/** One message per field; an unknown field is reported at its own path so that the CLI can point at it. */
function describeIssue(issue: z.core.$ZodIssue): [PropertyKey[], string][] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => [
      [...issue.path, key],
      'unknown field (check its spelling and indentation)',
    ]);
  }
  if (issue.code === 'invalid_value' && issue.path.at(-1) === 'apiVersion')
    return [[issue.path, `must be ${apiVersion}`]];
  return [[issue.path, issue.message]];
}
