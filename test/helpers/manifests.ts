// Resource documents for tests, written the way users write them.
import { parseAllDocuments } from 'yaml';

export function yamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text).map((document) => document.toJS() as unknown);
}

/** The shape the foundation issue says must be accepted, for any command that listens on $PORT. */
export function serviceManifest(options: {
  name?: string;
  namespace?: string;
  command?: string;
  args?: readonly string[];
  cwd?: string;
  replicas?: number;
  env?: Record<string, string>;
  bindingEnv?: Record<string, string>;
  memoryLimit?: string;
}): string {
  const name = options.name ?? 'echo';
  const namespace = options.namespace ?? 'default';
  return `apiVersion: opspilot.dev/v1alpha1
kind: Component
metadata: { name: ${name}, namespace: ${namespace}, project: shop }
spec:
  type: service
  run: { command: ${JSON.stringify(options.command ?? 'node')}, args: ${JSON.stringify(options.args ?? ['server.js'])}${options.cwd === undefined ? '' : `, cwd: ${JSON.stringify(options.cwd)}`}, env: ${JSON.stringify(options.env ?? { GREETING: 'hi' })} }
  port: { env: PORT, healthPath: /healthz }
---
apiVersion: opspilot.dev/v1alpha1
kind: ReleaseBinding
metadata: { name: ${name}-dev, namespace: ${namespace}, project: shop }
spec:
  component: ${name}
  environment: dev
  replicas: ${options.replicas ?? 3}
  resources: { requests: { cpu: 100m, memory: 64Mi }, limits: { memory: ${options.memoryLimit ?? '128Mi'} } }
  env: ${JSON.stringify(options.bindingEnv ?? { LOG_LEVEL: 'debug' })}
  state: Active
`;
}
