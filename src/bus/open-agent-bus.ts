// Builds the configured agent bus (`agents.bus`); the one place that chooses an adapter.
import { InvalidError } from '../core/errors.js';
import type { AgentBusConfig } from '../config/config-schema.js';
import type { StateStore } from '../state/ports.js';
import { EmbeddedAgentBus } from './embedded-bus.js';
import { NatsAgentBus } from './nats-bus.js';
import type { AgentBus, BusErrorReporter, DeliveryOptions } from './ports.js';
import { RedisAgentBus } from './redis-bus.js';

export interface AgentBusDependencies {
  /** The state store; the embedded bus keeps its tables there. */
  readonly store?: Pick<StateStore, 'agentBus'>;
  readonly delivery?: Partial<DeliveryOptions>;
  readonly report?: BusErrorReporter;
}

/** Rejects with UnavailableError when a broker cannot be reached now (the caller retries or exits). */
export async function openAgentBus(
  config: AgentBusConfig,
  dependencies: AgentBusDependencies = {},
): Promise<AgentBus> {
  const { delivery, report } = dependencies;
  switch (config.kind) {
    case 'embedded': {
      if (dependencies.store === undefined) {
        throw new InvalidError('the embedded agent bus needs the state store', [], {
          hint: 'Open the state store first, or set agents.bus.kind to redis or nats.',
        });
      }
      return new EmbeddedAgentBus({ repository: dependencies.store.agentBus, delivery, report });
    }
    case 'redis':
      return RedisAgentBus.connect({ url: config.url ?? 'redis://127.0.0.1:6379', delivery, report });
    case 'nats':
      return NatsAgentBus.connect({ url: config.url ?? 'nats://127.0.0.1:4222', delivery, report });
  }
}
