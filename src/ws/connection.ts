// One open WebSocket of a logged-in user (GET /api/ws): its messages in, and the log streams
// of the executions it subscribed to out, any number of them on the one socket.
//
// Backpressure as on an SSE stream: a subscription is a cursor, not a queue. Log messages are
// written only while what the socket has not taken (`ws.bufferedAmount`) is under HIGH_WATER;
// past it the connection is blocked and the cursors wait where they are, until the socket
// drains. Answers to the client's own messages (`started`, `error`) are written
// even then, but only `maxUnreadBytes` of them: past that the socket is closed (1008). A socket that takes nothing for STALL_MS releases its cursors (the log stops
// keeping entries for them past the ring; they get gaps), and after the stall timeout it is
// cut. Subscriptions take turns (round robin, TURN_CHARS each), so one execution's burst does
// not hold up another's entries.
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { ChariotError } from '../errors.js';
import type { ExecutionManager } from '../execution-manager.js';
import { STALL_MS } from '../sse.js';
import type { Lease } from '../store.js';
import type { StreamSlot, StreamSlots } from '../stream-slots.js';
import { errorMessage, parseClientMessage, RefusedMessage, startedMessage, type ClientMessage } from './messages.js';
import { WsSubscription, type Outlet, type Waker } from './subscription.js';

export interface ConnectionOptions {
  /**
   * The TCP socket under the WebSocket, corked while a turn writes: ws writes every frame on
   * its own, and one write each made 100,000 entries four times slower than over SSE.
   */
  readonly socket: Duplex;
  readonly manager: ExecutionManager;
  readonly streams: StreamSlots;
  /** The session's user: every message acts as them. */
  readonly user: string;
  /** Interval of WebSocket pings; a peer that has not answered the previous one by then is cut. */
  readonly pingMs: number;
  /** A socket that takes no data for this long is cut, in ms (CHARIOT_SSE_STALL_TIMEOUT_MS). */
  readonly stallTimeoutMs: number;
  /** Answers written past the high-water mark and not yet taken, past which the socket is closed (CHARIOT_WS_MAX_UNREAD). */
  readonly maxUnreadBytes: number;
  /** Called once, when the socket has closed and everything it held was given back. */
  readonly onClose: () => void;
}

/** Close codes (RFC 6455 and IANA's registry), each documented in docs/API.md. */
export const CLOSE = Object.freeze({
  /** The server shuts down. */
  goingAway: 1001,
  /** The client left more than CHARIOT_WS_MAX_UNREAD unread. */
  policy: 1008,
  /** A draining instance: reconnect (to another instance) and subscribe again with `after`. */
  restart: 1012,
});

/** What the socket may hold unread before log messages wait in their cursors. */
export const HIGH_WATER = 64 * 1024;
/** A message sent as a text frame, Buffer or string. */
const TEXT = Object.freeze({ binary: false });
/** Characters one subscription sends in its turn before the next one's. */
const TURN_CHARS = 64 * 1024;
/** How long a closing socket gets to say goodbye before it is cut. */
const CLOSE_GRACE_MS = 1000;

/** What an open socket holds, for diagnostics and the tests that prove it holds little. */
export interface SocketStats {
  /** What was handed to the socket and it has not taken yet (`ws.bufferedAmount`). */
  readonly bufferedAmount: number;
  /** True while log messages wait in their cursors. */
  readonly blocked: boolean;
  readonly subscriptions: ReadonlyArray<{ readonly executionId: string; readonly cursor: number; readonly holding: boolean }>;
}

const openConnections = new Set<WsConnection>();

/** Every open socket of this process. */
export function socketStats(): SocketStats[] {
  return [...openConnections].map((connection) => connection.stats);
}

/** A subscribe on its way: the execution is being looked up. */
interface Opening {
  cancelled: boolean;
}

interface Stream {
  readonly subscription: WsSubscription;
  readonly lease: Lease;
  readonly slot: StreamSlot;
}

export class WsConnection implements Outlet, Waker {
  readonly #ws: WebSocket;
  readonly #options: ConnectionOptions;
  readonly #streams = new Map<string, Stream | Opening>();
  /** Subscriptions with something to send, in turn order. */
  readonly #ready = new Set<WsSubscription>();
  #wakeup: NodeJS.Immediate | undefined;
  #blocked = false;
  /** Characters of answers written while blocked. */
  #unreadAnswers = 0;
  #closed = false;
  #ping: NodeJS.Timeout;
  #awaitingPong = false;
  #stallCheck: NodeJS.Timeout | undefined;
  #unsentAtCheck = 0;
  #idleChecks = 0;
  readonly #stallCheckMs: number;
  /** HIGH_WATER, or the socket's own mark if higher: past it, a write of the socket returns false. */
  readonly #highWater: number;

  constructor(ws: WebSocket, options: ConnectionOptions) {
    this.#ws = ws;
    this.#options = options;
    this.#highWater = Math.max(HIGH_WATER, options.socket.writableHighWaterMark);
    options.socket.on('drain', this.#onDrain);
    this.#stallCheckMs = Math.min(STALL_MS, Math.ceil(options.stallTimeoutMs / 4));
    ws.on('message', this.#onMessage);
    ws.on('pong', () => (this.#awaitingPong = false));
    ws.on('close', this.#onClose);
    ws.on('error', () => undefined);
    this.#ping = setInterval(this.#onPing, options.pingMs);
    openConnections.add(this);
  }

  get stats(): SocketStats {
    const subscriptions = [];
    for (const stream of this.#streams.values()) {
      if ('subscription' in stream) subscriptions.push({ executionId: stream.subscription.id, cursor: stream.subscription.cursor, holding: stream.subscription.holding });
    }
    return { bufferedAmount: this.#ws.bufferedAmount, blocked: this.#blocked, subscriptions };
  }

  /** Ends the socket with `code`; the client may reconnect. Idempotent. */
  close(code: number, reason: string): void {
    if (this.#closed || this.#ws.readyState >= this.#ws.CLOSING) return;
    this.#ws.close(code, reason);
    const cut = setTimeout(() => this.#ws.terminate(), CLOSE_GRACE_MS);
    cut.unref();
  }

  // Outlet: one message out.
  send(message: string | Buffer): boolean {
    if (this.#closed) return false;
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN) return false;
    ws.send(message, TEXT);
    if (this.#blocked) {
      // Only answers are written past the high-water mark (log messages wait in their cursors).
      this.#unreadAnswers += message.length;
      if (this.#unreadAnswers > this.#options.maxUnreadBytes) {
        this.close(CLOSE.policy, `More than ${this.#options.maxUnreadBytes} bytes of answers unread (CHARIOT_WS_MAX_UNREAD)`);
        return false;
      }
    } else if (ws.bufferedAmount >= this.#highWater) {
      // The socket's own write returned false (its buffer is at least its high-water mark), so
      // it emits 'drain' once it has taken everything.
      this.#blocked = true;
      this.#unreadAnswers = 0;
      this.#watchStall();
    }
    return !this.#blocked;
  }

  readonly #onDrain = (): void => {
    if (this.#closed || !this.#blocked) return;
    this.#blocked = false;
    clearTimeout(this.#stallCheck);
    this.#stallCheck = undefined;
    this.#schedule();
  };

  // Waker: subscriptions ask for their turn.
  wake(subscription: WsSubscription): void {
    this.#ready.add(subscription);
    this.#schedule();
  }

  /** Progress is sent at once, so that a reader that keeps up sees every report. */
  wakeNow(subscription: WsSubscription): void {
    if (this.#blocked || this.#closed) return this.wake(subscription);
    this.#pumpOne(subscription);
  }

  forgotten(subscription: WsSubscription): void {
    if (!this.#blocked) this.#pumpOne(subscription);
    if (subscription.closed) return;
    // Retention won: what it had not sent is gone with the log.
    this.#end(subscription.id);
    this.send(errorMessage('EXECUTION_NOT_FOUND', 'The execution was forgotten (retention) before its log was all sent', { executionId: subscription.id }));
  }

  #schedule(): void {
    if (this.#closed || this.#blocked) return;
    this.#wakeup ??= setImmediate(this.#pump);
  }

  readonly #pump = (): void => {
    this.#wakeup = undefined;
    const { socket } = this.#options;
    socket.cork();
    try {
      while (!this.#blocked && !this.#closed && this.#ready.size > 0) {
        const [subscription] = this.#ready;
        this.#ready.delete(subscription!);
        const state = this.#pumpOne(subscription!);
        if (state === 'more') {
          // To the back of the turns, and on in the next turn of the event loop.
          this.#ready.add(subscription!);
          this.#schedule();
          return;
        }
      }
    } finally {
      socket.uncork();
    }
  };

  #pumpOne(subscription: WsSubscription): string {
    const { socket } = this.#options;
    socket.cork();
    let state;
    try {
      state = subscription.pump(this, TURN_CHARS);
    } finally {
      socket.uncork();
    }
    if (state === 'blocked') this.#ready.add(subscription);
    else if (state === 'done') this.#end(subscription.id);
    return state;
  }

  #watchStall(): void {
    this.#unsentAtCheck = this.#ws.bufferedAmount;
    this.#idleChecks = 0;
    this.#stallCheck = setTimeout(this.#checkStall, this.#stallCheckMs);
  }

  /** As an SSE stream's (src/sse.ts): counted in checks that found the socket had taken nothing. */
  readonly #checkStall = (): void => {
    const unsent = this.#ws.bufferedAmount;
    this.#idleChecks = unsent < this.#unsentAtCheck ? 0 : this.#idleChecks + 1;
    this.#unsentAtCheck = unsent;
    if (this.#idleChecks * this.#stallCheckMs >= this.#options.stallTimeoutMs) {
      this.#stallCheck = undefined;
      this.#ws.terminate();
      return;
    }
    if (this.#idleChecks * this.#stallCheckMs >= STALL_MS) {
      for (const stream of this.#streams.values()) if ('subscription' in stream) stream.subscription.release();
    }
    this.#stallCheck = setTimeout(this.#checkStall, this.#stallCheckMs);
  };

  readonly #onPing = (): void => {
    if (this.#awaitingPong) {
      this.#ws.terminate();
      return;
    }
    this.#awaitingPong = true;
    this.#ws.ping();
  };

  readonly #onMessage = (data: RawData, isBinary: boolean): void => {
    let message: ClientMessage;
    try {
      if (isBinary) throw new RefusedMessage('BAD_MESSAGE', 'Messages must be JSON in text frames, not binary ones');
      message = parseClientMessage(data.toString());
    } catch (error) {
      this.#refuse(error, undefined);
      return;
    }
    this.#handle(message).catch((error: unknown) => this.#refuse(error, message));
  };

  async #handle(message: ClientMessage): Promise<void> {
    const { manager, user } = this.#options;
    switch (message.type) {
      case 'run': {
        const execution = await manager.submit(user, message.program);
        this.send(startedMessage(message.ref, execution.id));
        return;
      }
      case 'subscribe':
        return this.#subscribe(message);
      case 'unsubscribe':
        return this.#unsubscribe(message.executionId);
      case 'cancel':
        await manager.cancel(message.executionId, user);
        return;
      case 'input':
        // As POST .../input, without its answer: the script reading it is the answer.
        await manager.input(message.executionId, user, message.input);
        return;
    }
  }

  async #subscribe(message: Extract<ClientMessage, { type: 'subscribe' }>): Promise<void> {
    const id = message.executionId;
    if (this.#streams.has(id)) throw new RefusedMessage('ALREADY_SUBSCRIBED', 'This socket is subscribed to this execution already');
    const opening: Opening = { cancelled: false };
    this.#streams.set(id, opening);
    let lease: Lease;
    try {
      lease = await this.#options.manager.open(id, this.#options.user);
    } catch (error) {
      if (this.#streams.get(id) === opening) this.#streams.delete(id);
      throw error;
    }
    if (opening.cancelled || this.#closed) {
      lease.release();
      return;
    }
    let slot: StreamSlot;
    try {
      // After the lookup, as for SSE: the cap says nothing of whose an id is.
      slot = this.#options.streams.acquire(this.#options.user);
    } catch (error) {
      this.#streams.delete(id);
      lease.release();
      throw error;
    }
    const subscription = new WsSubscription(lease.execution, message.after, message.minLevel, this);
    this.#streams.set(id, { subscription, lease, slot });
    slot.attach(() => this.close(CLOSE.restart, 'This instance is restarting: reconnect and subscribe again with "after"'));
    this.wake(subscription);
  }

  #unsubscribe(id: string): void {
    const stream = this.#streams.get(id);
    if (stream === undefined) throw new RefusedMessage('NOT_SUBSCRIBED', 'This socket is not subscribed to this execution');
    if ('cancelled' in stream) {
      stream.cancelled = true;
      this.#streams.delete(id);
      return;
    }
    this.#end(id);
  }

  /** Ends one execution's stream and gives back what it held. */
  #end(id: string): void {
    const stream = this.#streams.get(id);
    if (stream === undefined || !('subscription' in stream)) return;
    this.#streams.delete(id);
    this.#ready.delete(stream.subscription);
    stream.subscription.close();
    stream.slot.release();
    stream.lease.release();
  }

  /** Answers a refused message with `error`; the socket stays open. */
  #refuse(error: unknown, message: ClientMessage | undefined): void {
    const refused = error instanceof RefusedMessage ? error : undefined;
    const about = {
      ref: refused?.ref ?? message?.ref,
      executionId: refused?.executionId ?? (message !== undefined && 'executionId' in message ? message.executionId : undefined),
    };
    if (error instanceof RefusedMessage || error instanceof ChariotError) {
      this.send(errorMessage(error.code, error.message, about));
      return;
    }
    console.error('chariot-exec: unexpected error on a WebSocket', error);
    this.send(errorMessage('INTERNAL', 'Internal server error', about));
  }

  readonly #onClose = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ping);
    clearTimeout(this.#stallCheck);
    clearImmediate(this.#wakeup);
    this.#options.socket.off('drain', this.#onDrain);
    for (const [id, stream] of [...this.#streams]) {
      if ('cancelled' in stream) stream.cancelled = true;
      else this.#end(id);
    }
    this.#streams.clear();
    this.#ready.clear();
    openConnections.delete(this);
    this.#options.onClose();
  };
}
