// A TCP relay in front of a server, for tests of clients that lose their connection: it
// forwards bytes both ways, records the head of every request it carries, and can cut every
// open connection at once, as a network drop would.
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpRelay {
  /** Base URL of the relay, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** The request line and headers of each connection's first request, in order of arrival. */
  readonly requests: string[] = [];
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  /** Starts a relay on an ephemeral port of 127.0.0.1 to `target` (a base URL). */
  static async start(target: string): Promise<TcpRelay> {
    const { hostname, port } = new URL(target);
    let relay: TcpRelay | undefined;
    const server = createServer((client) => relay!.#carry(client, hostname, Number(port)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    relay = new TcpRelay(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return relay;
  }

  /** Connections open now. */
  get open(): number {
    return this.#pairs.size;
  }

  /** Destroys every open connection on both sides. */
  cut(): void {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    const closed = once(this.#server, 'close');
    this.#server.close();
    await closed;
  }

  #carry(client: Socket, host: string, port: number): void {
    const upstream = createConnection({ host, port });
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    let head = '';
    let recorded = false;
    client.on('data', (chunk: Buffer) => {
      if (!recorded) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end !== -1) {
          this.requests.push(head.slice(0, end));
          recorded = true;
        }
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('error', drop);
    upstream.on('error', drop);
  }
}

/** The value of header `name` in a request head, or undefined. */
export function headerOf(head: string, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) return line.slice(colon + 1).trim();
  }
  return undefined;
}
