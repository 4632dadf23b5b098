// GET /api/ws: the WebSocket upgrade on the HTTP server's own port, and the open sockets.
// Before the upgrade, in this order: the path (404), the Origin (403: a page of another
// origin must not open a socket with the user's cookie, cross-site WebSocket hijacking), the
// session (401), a draining or closing server (503). A refusal is an HTTP answer with the
// same JSON body as the other routes', and the connection is closed.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ChariotError, NotFoundError, ShuttingDownError } from '../errors.js';
import type { ExecutionManager } from '../execution-manager.js';
import type { StreamSlots } from '../stream-slots.js';
import { CLOSE, WsConnection } from './connection.js';

export const WS_PATH = '/api/ws';

export interface HubOptions {
  readonly manager: ExecutionManager;
  readonly streams: StreamSlots;
  /** The user of the request's session; throws a ChariotError (403 cross-origin, 401, 503) to refuse. */
  readonly authenticate: (req: IncomingMessage) => Promise<string>;
  readonly pingMs: number;
  readonly stallTimeoutMs: number;
  /** The largest message a client may send (CHARIOT_WS_MAX_MESSAGE); a larger one closes with 1009. */
  readonly maxMessageBytes: number;
  readonly maxUnreadBytes: number;
}

/** How long sockets get to take their close frame at shutdown before they are cut. */
const CLOSE_WAIT_MS = 1000;

function refuse(socket: Duplex, error: ChariotError): void {
  const body = JSON.stringify({ error: error.message, code: error.code });
  const headers = [
    `HTTP/1.1 ${error.status} ${statusText(error.status)}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(error.headers).map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

function statusText(status: number): string {
  return { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ?? 'Error';
}

export class WebSocketHub {
  readonly #options: HubOptions;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<WsConnection>();
  readonly #sockets = new Set<WebSocket>();
  #closing = false;

  constructor(server: Server, options: HubOptions) {
    this.#options = options;
    // No compression: a frame's callback then says the socket took it, which backpressure needs.
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.#upgrade(req, socket, head));
  }

  /** Open sockets. */
  get open(): number {
    return this.#connections.size;
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    let user: string;
    try {
      const path = new URL(req.url ?? '/', 'http://upgrade').pathname;
      if (path !== WS_PATH) throw new NotFoundError(`No such endpoint: GET ${path.slice(0, 200)} (upgrade)`);
      user = await this.#options.authenticate(req);
      if (this.#closing || this.#options.manager.draining) throw new ShuttingDownError();
    } catch (error) {
      if (error instanceof ChariotError) refuse(socket, error);
      else {
        console.error('chariot-exec: unexpected error in a WebSocket upgrade', error);
        socket.destroy();
      }
      return;
    }
    if (socket.destroyed) return;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, socket, user));
  }

  #accept(ws: WebSocket, socket: Duplex, user: string): void {
    const { manager, streams, pingMs, stallTimeoutMs, maxUnreadBytes } = this.#options;
    this.#sockets.add(ws);
    const connection = new WsConnection(ws, {
      socket,
      manager,
      streams,
      user,
      pingMs,
      stallTimeoutMs,
      maxUnreadBytes,
      onClose: () => {
        this.#connections.delete(connection);
        this.#sockets.delete(ws);
      },
    });
    this.#connections.add(connection);
    if (this.#closing) connection.close(CLOSE.goingAway, 'The server is shutting down');
  }

  /** A draining instance: every socket is closed with 1012, so that its client reconnects to another instance. */
  handOffAll(): void {
    for (const connection of this.#connections) connection.close(CLOSE.restart, 'This instance is restarting: reconnect and subscribe again with "after"');
  }

  /** Closes every socket (1001) and waits until they are closed, cutting those that do not answer. */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = [...this.#sockets].map((ws) => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve()))));
    for (const connection of this.#connections) connection.close(CLOSE.goingAway, 'The server is shutting down');
    const cut = setTimeout(() => {
      for (const ws of this.#sockets) ws.terminate();
    }, CLOSE_WAIT_MS);
    await Promise.all(closed);
    clearTimeout(cut);
  }
}
