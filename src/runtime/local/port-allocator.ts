// Hands out free loopback ports. The OS picks them; a reserved set stops two replicas from being handed
// the same port between allocation and the moment the replica binds it.
import { createServer } from 'node:net';

export class PortAllocator {
  private readonly reserved = new Set<number>();

  constructor(private readonly host = '127.0.0.1') {}

  async allocate(): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const port = await freePort(this.host);
      if (!this.reserved.has(port)) {
        this.reserved.add(port);
        return port;
      }
    }
    throw new Error('no free port found after 20 attempts');
  }

  /** Marks a port (re-adopted, or requested by the user) as taken. */
  reserve(port: number): void {
    this.reserved.add(port);
  }

  release(port: number): void {
    this.reserved.delete(port);
  }

  /** Whether nothing listens on the port right now. */
  isFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => {
        resolve(false);
      });
      server.listen(port, this.host, () => {
        server.close(() => {
          resolve(true);
        });
      });
    });
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}
