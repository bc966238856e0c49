// Maps OTLP resource attributes onto platform identity: service.name and opspilot.namespace|project|component|
// environment (falling back to the OpenTelemetry semantic conventions where those are absent).
import type { Attributes, ResourceIdentity } from '../model.js';

const maxCached = 10_000;

export class ResourceIdentities {
  private readonly cache = new Map<string, ResourceIdentity>();

  identify(attributes: Attributes): ResourceIdentity {
    const fingerprint = canonical(attributes);
    let identity = this.cache.get(fingerprint);
    if (identity === undefined) {
      identity = identityOf(attributes, fingerprint);
      if (this.cache.size >= maxCached) this.cache.clear();
      this.cache.set(fingerprint, identity);
    }
    return identity;
  }
}

export function identityOf(attributes: Attributes, fingerprint = canonical(attributes)): ResourceIdentity {
  const text = (...keys: string[]): string | undefined => {
    for (const key of keys) {
      const value = attributes[key];
      if (typeof value === 'string' && value !== '') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    }
    return undefined;
  };
  const service = text('service.name') ?? 'unknown_service';
  return {
    fingerprint,
    service,
    namespace: text('opspilot.namespace', 'service.namespace') ?? 'default',
    project: text('opspilot.project') ?? '',
    component: text('opspilot.component') ?? service,
    environment: text('opspilot.environment', 'deployment.environment.name', 'deployment.environment') ?? '',
    instance: text('service.instance.id') ?? '',
    attributes,
  };
}

/** Attributes serialised with sorted keys: equal resources get equal fingerprints. */
export function canonical(attributes: Attributes): string {
  const keys = Object.keys(attributes).sort();
  let text = '{';
  for (const [index, key] of keys.entries()) {
    if (index > 0) text += ',';
    text += `${JSON.stringify(key)}:${JSON.stringify(attributes[key])}`;
  }
  return `${text}}`;
}
