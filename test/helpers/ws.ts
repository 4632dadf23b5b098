// A WebSocket client for the tests (the `ws` package): every message kept in arrival order,
// waits for the one a test needs, and the answer of an upgrade the server refused.
import { request } from 'node:http';
import { once } from 'node:events';
import WebSocket from 'ws';
import type { Json } from './client.js';
import { expectIsoTimestamp } from './expectations.js';

export type Message = { readonly [key: string]: Json };

export interface Refusal {
  readonly status: number;
  readonly body: Json;
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

function wsUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/api/ws`;
}

/** An entry message without its timestamp (checked apart): the part a test can predict. */
export function shape(message: Message): Message {
  if (message.type !== 'entry') return message;
  expectIsoTimestamp(message.timestamp, `timestamp of ${JSON.stringify(message)}`);
  const { timestamp: _timestamp, ...rest } = message;
  return rest;
}

/** An entry message as shape() leaves it. */
export function entry(id: string, seq: number, level: string, message: string): Message {
  return { type: 'entry', execution_id: id, seq, level, message };
}

export class WsClient {
  readonly messages: Message[] = [];
  readonly closed: Promise<Closed>;
  readonly #ws: WebSocket;
  #waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data, isBinary) => {
      if (isBinary) throw new Error('the server sent a binary frame');
      this.messages.push(JSON.parse(data.toString()) as Message);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    ws.once('close', () => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Opens /api/ws with `cookie` (and `headers`); rejects with the refusal when it is not upgraded. */
  static async open(baseUrl: string, cookie: string | undefined, headers: Readonly<Record<string, string>> = {}): Promise<WsClient> {
    const ws = new WebSocket(wsUrl(baseUrl), { headers: { ...headers, ...(cookie === undefined ? {} : { cookie }) }, perMessageDeflate: false });
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return client;
  }

  send(message: Json): void {
    this.#ws.send(JSON.stringify(message));
  }

  /** A frame exactly as given (text, or binary for a Buffer). */
  sendRaw(data: string | Buffer): void {
    this.#ws.send(data, { binary: typeof data !== 'string' });
  }

  /** The first message from index `from` on that passes `test`; fails after `withinMs`. */
  async waitFor(test: (message: Message) => boolean, withinMs = 10_000, from = 0): Promise<Message> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const found = this.messages.slice(from).find(test);
      if (found !== undefined) return found;
      if (this.#ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed before the message came; got ${JSON.stringify(this.messages)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no such message within ${withinMs} ms; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Messages about one execution, in order. */
  about(executionId: string): Message[] {
    return this.messages.filter((message) => message.execution_id === executionId);
  }

  /** Waits for the `done` of `executionId`, then returns every message about it. */
  async untilDone(executionId: string, withinMs = 20_000): Promise<Message[]> {
    await this.waitFor((message) => message.type === 'done' && message.execution_id === executionId, withinMs);
    return this.about(executionId);
  }

  /** Sends `run` and returns the execution id of its `started`. */
  async run(program: string, ref = `r${Math.random().toString(36).slice(2)}`): Promise<string> {
    const from = this.messages.length;
    this.send({ type: 'run', ref, program });
    const answer = await this.waitFor((message) => message.ref === ref, 10_000, from);
    if (answer.type !== 'started') throw new Error(`run was refused: ${JSON.stringify(answer)}`);
    return String(answer.execution_id);
  }

  close(): void {
    this.#ws.close();
  }

  terminate(): void {
    this.#ws.terminate();
  }
}

/** The HTTP answer to an upgrade request the server refuses (no upgrade happens). */
export async function refusedUpgrade(baseUrl: string, headers: Readonly<Record<string, string>>, path = '/api/ws'): Promise<Refusal> {
  const req = request(`${baseUrl}${path}`, {
    headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
  });
  req.end();
  const upgraded = once(req, 'upgrade').then(([, socket]) => {
    (socket as { destroy(): void }).destroy();
    throw new Error('the server upgraded the connection');
  });
  const answered = once(req, 'response').then(async ([res]) => {
    const response = res as import('node:http').IncomingMessage;
    let text = '';
    for await (const chunk of response) text += String(chunk);
    return { status: response.statusCode ?? 0, body: JSON.parse(text) as Json };
  });
  return Promise.race([upgraded, answered]);
}

/** One frame as it came off the wire. */
export interface Frame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * A WebSocket client written on a bare TCP socket, for what `ws` would hide: it can stop
 * reading (pause()) so that the kernel's buffers fill and the server sees a stalled peer, and
 * it parses the frames it gets byte by byte (resume()). It never answers pings.
 */
export class RawWsClient {
  readonly #socket: import('node:net').Socket;
  #pending: Buffer = Buffer.alloc(0);
  readonly frames: Frame[] = [];
  readonly ended: Promise<void>;

  private constructor(socket: import('node:net').Socket, rest: Buffer) {
    this.#socket = socket;
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#take(chunk));
    if (rest.length > 0) this.#take(rest);
  }

  /** Connects and upgrades with `cookie`; the server's answer must be 101. */
  static async open(baseUrl: string, cookie: string): Promise<RawWsClient> {
    const { createConnection } = await import('node:net');
    const { hostname, port } = new URL(baseUrl);
    const socket = createConnection({ host: hostname, port: Number(port) });
    await once(socket, 'connect');
    socket.write(`GET /api/ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n`
      + `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: ${cookie}\r\n\r\n`);
    let head = Buffer.alloc(0);
    for (;;) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) continue;
      const status = head.subarray(0, head.indexOf('\r\n')).toString();
      if (!status.startsWith('HTTP/1.1 101 ')) throw new Error(`upgrade answered ${status}`);
      socket.removeAllListeners('data');
      return new RawWsClient(socket, head.subarray(end + 4));
    }
  }

  /** Sends one masked text frame, as a client must. */
  send(message: Json): void {
    const payload = Buffer.from(JSON.stringify(message));
    const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const length = payload.length < 126 ? Buffer.from([0x80 | payload.length]) : payload.length < 65_536
      ? Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff])
      : (() => {
          const big = Buffer.alloc(9);
          big[0] = 0x80 | 127;
          big.writeBigUInt64BE(BigInt(payload.length), 1);
          return big;
        })();
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
    this.#socket.write(Buffer.concat([Buffer.from([0x81]), length, mask, masked]));
  }

  /** Stops reading: what the server sends piles up in the kernel, then in the server. */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /** The text messages received so far, parsed. */
  get messages(): Message[] {
    return this.frames.filter((frame) => frame.opcode === 1).map((frame) => JSON.parse(frame.payload.toString()) as Message);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #take(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const buffer = this.#pending;
      if (buffer.length < 2) return;
      const opcode = buffer[0]! & 0x0f;
      if ((buffer[1]! & 0x80) !== 0) throw new Error('the server sent a masked frame');
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) return;
      if ((buffer[0]! & 0x80) === 0) throw new Error('the server sent a fragmented message');
      this.frames.push({ opcode, payload: Buffer.from(buffer.subarray(offset, offset + length)) });
      this.#pending = buffer.subarray(offset + length);
    }
  }
}
