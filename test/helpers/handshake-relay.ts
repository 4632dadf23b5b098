// A TCP relay in front of a server that records, for each connection, the head of its first
// request and the server's first answer (status line, headers, and a body sized by
// Content-Length): what a browser really sent on a WebSocket handshake and what it was told.
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { headerOf } from './relay.js';

/** One connection's first request and first answer, as far as they have arrived. */
export interface Exchange {
  /** Request line and headers, without the blank line; undefined until they all arrived. */
  request: string | undefined;
  /** Status line and headers, without the blank line; undefined until they all arrived. */
  response: string | undefined;
  /** The answer's body when it named a Content-Length ('' until it has all arrived, or for none). */
  body: string;
}

/** What is kept of each direction: enough for a handshake, never a stream. */
const RECORD_LIMIT = 64 * 1024;

export class HandshakeRelay {
  /** Base URL of the relay, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** One per connection, in order of arrival. */
  readonly exchanges: Exchange[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  /** Starts a relay on an ephemeral port of 127.0.0.1 to `target` (a base URL). */
  static async start(target: string): Promise<HandshakeRelay> {
    const { hostname, port } = new URL(target);
    let relay: HandshakeRelay | undefined;
    const server = createServer((client) => relay!.#carry(client, hostname, Number(port)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    relay = new HandshakeRelay(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return relay;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const closed = once(this.#server, 'close');
    this.#server.close();
    await closed;
  }

  #carry(client: Socket, host: string, port: number): void {
    const upstream = createConnection({ host, port });
    const exchange: Exchange = { request: undefined, response: undefined, body: '' };
    this.exchanges.push(exchange);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    }
    // Recorded before the bytes are passed on: whoever reads them next finds them recorded.
    let requestBytes = '';
    client.on('data', (chunk: Buffer) => {
      if (exchange.request !== undefined || requestBytes.length > RECORD_LIMIT) return;
      requestBytes += chunk.toString('latin1');
      const end = requestBytes.indexOf('\r\n\r\n');
      if (end !== -1) exchange.request = requestBytes.slice(0, end);
    });
    let responseBytes = '';
    let complete = false;
    upstream.on('data', (chunk: Buffer) => {
      if (complete || responseBytes.length > RECORD_LIMIT) return;
      responseBytes += chunk.toString('latin1');
      const end = responseBytes.indexOf('\r\n\r\n');
      if (end === -1) return;
      exchange.response = responseBytes.slice(0, end);
      const length = Number(headerOf(exchange.response, 'content-length') ?? 0);
      const body = Buffer.from(responseBytes.slice(end + 4), 'latin1');
      if (body.length >= length) {
        exchange.body = body.subarray(0, length).toString('utf8');
        complete = true;
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('close', drop);
      socket.on('error', drop);
    }
  }
}
