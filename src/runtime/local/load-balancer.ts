// A binding's stable endpoint: a TCP proxy on loopback that spreads connections round-robin over the
// ready replicas. Layer 4, so it serves any protocol a component speaks.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  readonly name: string;
  readonly port: number;
}

export class LoadBalancer {
  private server: Server | undefined;
  private backends: readonly Backend[] = [];
  private next = 0;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly host = '127.0.0.1') {}

  /** Listens on `port` (0 = any free port) and resolves with the port it got. */
  listen(port: number): Promise<number> {
    const server = createServer((client) => {
      this.route(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  setBackends(backends: readonly Backend[]): void {
    this.backends = backends;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server === undefined) return;
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }

  private route(client: Socket): void {
    this.track(client);
    client.pause();
    this.connectTo(client, 0);
  }

  /** Tries the next backend; a refused connection moves on to the one after, once around the ring. */
  private connectTo(client: Socket, attempts: number): void {
    const backends = this.backends;
    if (backends.length === 0 || attempts >= backends.length) {
      client.destroy();
      return;
    }
    const index = this.next % backends.length;
    this.next = index + 1;
    const backend = backends[index] as Backend;
    const upstream = connect(backend.port, this.host);
    this.track(upstream);
    let connected = false;
    upstream.once('error', () => {
      if (!connected && !client.destroyed) this.connectTo(client, attempts + 1);
    });
    upstream.once('connect', () => {
      connected = true;
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}
