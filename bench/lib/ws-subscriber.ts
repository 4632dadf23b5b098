// A lean WebSocket subscriber for many streams at once, the counterpart of sse-subscriber.ts:
// the `ws` package, no compression. `subscribe()` gives each stream a socket of its own (as
// each SSE stream has its connection); a WsSocket carries any number of them. For each log
// entry it reports when the frame was parsed, on the calibrated wall clock, its bytes on the
// wire, and the entry's own timestamp.
//
// The server does not answer a `subscribe` that succeeds, so each one is followed by a probe:
// an `unsubscribe` of an id this socket never subscribed to, answered by an `error`. The
// server reads a socket's messages in order and registers a subscription to an execution it
// holds within that turn of its event loop (src/ws/connection.ts: `manager.open` resolves at
// once), before any worker's message can append an entry; so an entry logged after the
// probe's answer arrived was delivered live, as one logged after an SSE stream's headers.
import WebSocket, { type RawData } from 'ws';
import type { WallClock } from './clock.js';
import type { EntryArrival, Subscription } from './log-subscribers.js';

/** A well-formed id no execution has (its random bits are zero): the probe's. */
const PROBE_ID = '00000000-0000-4000-8000-000000000000';

/** What the server sends that this subscriber reads; every field as docs/API.md names it. */
interface ServerMessage {
  readonly type: string;
  readonly execution_id?: string;
  readonly ref?: string;
  readonly seq?: number;
  readonly timestamp?: string;
  readonly status?: string;
  readonly code?: string;
  readonly error?: string;
}

/** A frame from the server as it was on the wire: a 2-byte header, 4 past 125 bytes, 10 past 65,535 (unmasked). */
function frameBytes(payload: number): number {
  return payload + (payload < 126 ? 2 : payload < 65_536 ? 4 : 10);
}

function payloadBytes(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

interface Stream {
  readonly onEntry: (entry: EntryArrival) => void;
  /** Set once the probe's answer arrived. */
  connectedAt: number | undefined;
  readonly ended: Promise<string>;
  readonly settle: (status: string) => void;
}

interface Probe {
  readonly executionId: string;
  readonly resolve: (subscription: Subscription) => void;
  readonly reject: (error: Error) => void;
}

/** One open /api/ws socket and the log streams it carries. */
export class WsSocket {
  readonly #ws: WebSocket;
  readonly #clock: WallClock;
  readonly #streams = new Map<string, Stream>();
  readonly #probes = new Map<string, Probe>();
  #probeCount = 0;

  private constructor(ws: WebSocket, clock: WallClock) {
    this.#ws = ws;
    this.#clock = clock;
    ws.on('message', this.#onMessage);
    ws.on('close', this.#onClose);
  }

  /** Opens /api/ws of `baseUrl` as the user of `cookie`; rejects when it is not upgraded. */
  static open(baseUrl: string, cookie: string, clock: WallClock): Promise<WsSocket> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/ws`, { headers: { cookie }, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsSocket(ws, clock)));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(new Error(`GET /api/ws answered ${res.statusCode}`));
      });
      ws.on('error', reject);
    });
  }

  /** Subscribes to one execution's log from its first entry; resolves once the server has registered it. */
  subscribe(executionId: string, onEntry: (entry: EntryArrival) => void): Promise<Subscription> {
    if (this.#streams.has(executionId)) return Promise.reject(new Error(`this socket follows ${executionId} already`));
    let settle: (status: string) => void = () => undefined;
    const ended = new Promise<string>((resolve) => (settle = resolve));
    this.#streams.set(executionId, { onEntry, connectedAt: undefined, ended, settle });
    const ref = `probe-${++this.#probeCount}`;
    return new Promise((resolve, reject) => {
      this.#probes.set(ref, { executionId, resolve, reject });
      this.#ws.send(JSON.stringify({ type: 'subscribe', execution_id: executionId }));
      this.#ws.send(JSON.stringify({ type: 'unsubscribe', ref, execution_id: PROBE_ID }));
    });
  }

  /** Ends the socket at once: every stream on it that had no `done` ends "closed". */
  close(): void {
    this.#ws.terminate();
  }

  /** Closes the socket with 1000, as a client that has what it wanted. */
  end(): void {
    this.#ws.close(1000);
  }

  readonly #onMessage = (data: RawData, isBinary: boolean): void => {
    // The frame is parsed: the same instant as an SSE event's dispatch, before its JSON.
    const parsedAt = this.#clock.now();
    if (isBinary) throw new Error('the server sent a binary frame');
    const message = JSON.parse(data.toString()) as ServerMessage;
    if (message.type === 'error' && message.ref !== undefined && this.#probes.has(message.ref)) return this.#answered(message.ref);
    const stream = message.execution_id === undefined ? undefined : this.#streams.get(message.execution_id);
    if (stream === undefined) throw new Error(`unexpected message on /api/ws: ${data.toString().slice(0, 200)}`);
    switch (message.type) {
      case 'entry': {
        const loggedAt = Date.parse(message.timestamp!);
        const live = stream.connectedAt !== undefined && loggedAt >= stream.connectedAt;
        stream.onEntry({ seq: message.seq!, loggedAt, parsedAt, bytes: frameBytes(payloadBytes(data)), live });
        return;
      }
      case 'done':
        return this.#finish(message.execution_id!, message.status!);
      case 'error':
        return this.#finish(message.execution_id!, `refused: ${message.code}`);
      default:
        // gap and progress: a gap shows as entries missing, as on an SSE stream.
        return;
    }
  };

  #answered(ref: string): void {
    const probe = this.#probes.get(ref)!;
    this.#probes.delete(ref);
    const stream = this.#streams.get(probe.executionId);
    if (stream === undefined) return probe.reject(new Error(`subscribe ${probe.executionId} ended before it was registered`));
    stream.connectedAt = this.#clock.now();
    probe.resolve({ connectedAt: stream.connectedAt, ended: stream.ended, close: () => this.close() });
  }

  #finish(executionId: string, status: string): void {
    const stream = this.#streams.get(executionId);
    if (stream === undefined) return;
    this.#streams.delete(executionId);
    stream.settle(status);
    for (const [ref, probe] of this.#probes) {
      if (probe.executionId !== executionId) continue;
      this.#probes.delete(ref);
      probe.reject(new Error(`subscribe ${executionId} ended before it was registered: ${status}`));
    }
  }

  readonly #onClose = (): void => {
    for (const executionId of [...this.#streams.keys()]) this.#finish(executionId, 'closed');
    for (const probe of this.#probes.values()) probe.reject(new Error('the socket closed'));
    this.#probes.clear();
  };
}

/** One execution's log on a socket of its own, closed once the stream ended. */
export async function subscribe(baseUrl: string, executionId: string, cookie: string, clock: WallClock, onEntry: (entry: EntryArrival) => void): Promise<Subscription> {
  const socket = await WsSocket.open(baseUrl, cookie, clock);
  try {
    const subscription = await socket.subscribe(executionId, onEntry);
    void subscription.ended.then(() => socket.end());
    return subscription;
  } catch (error) {
    socket.close();
    throw error;
  }
}
