// A WebSocket client for the tests (the `ws` package): every message kept in arrival order,
// waits for the one a test needs, and the answer of an upgrade the server refused.
import { request } from 'node:http';
import { once } from 'node:events';
import WebSocket from 'ws';
import type { Json } from './client.js';

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
