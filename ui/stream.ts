// One execution's live log, over the page's WebSocket when it can (socket.ts), else through
// the browser's EventSource. Either way a line is never shown twice: entries at or below the
// last seq seen are dropped, and a resume asks for what follows it (WebSocket: subscribe with
// `after`; EventSource: Last-Event-ID, or `?lastEventId=` when it starts after a WebSocket).
// A WebSocket that drops is opened again and the stream subscribes again; one that cannot be
// opened hands the stream to an EventSource from the last seq, unless the session ended
// (`failed`, and the page brings the login back). `done` ends the stream for good.
import { call, type ExecutionStatus, type LogEntry } from './api.js';
import { pageSocket, type ServerMessage, type SocketListener } from './socket.js';

export interface StreamHandlers {
  entry(entry: LogEntry): void;
  gap(missed: number): void;
  progress(percent: number, message: string): void;
  done(status: ExecutionStatus): void;
  /** The stream could not be opened or resumed (the server refused it). */
  failed(): void;
}

export type Transport = 'websocket' | 'sse';

export interface LiveStream {
  /** The last entry received (or passed over by a gap). */
  readonly lastSeq: number;
  /** What carries it now. */
  readonly transport: Transport;
  close(): void;
}

/** Opens the stream of `execId` on the page's WebSocket, or over SSE when the page has none. */
export function openStream(execId: string, handlers: StreamHandlers, onTransport: (transport: Transport) => void): LiveStream {
  if (!pageSocket.usable) {
    onTransport('sse');
    return new SseStream(execId, 0, handlers);
  }
  return new SocketStream(execId, handlers, onTransport);
}

/** Through the browser's EventSource, which reconnects by itself after the server's `retry:` delay. */
class SseStream implements LiveStream {
  readonly transport = 'sse';
  readonly #source: EventSource;
  #lastSeq: number;
  #closed = false;

  constructor(execId: string, after: number, handlers: StreamHandlers) {
    this.#lastSeq = after;
    const resume = after > 0 ? `?lastEventId=${after}` : '';
    this.#source = new EventSource(`/api/logs/${encodeURIComponent(execId)}${resume}`);
    this.#source.onmessage = (event) => {
      const entry = JSON.parse(event.data as string) as LogEntry;
      if (entry.seq <= this.#lastSeq) return;
      this.#lastSeq = entry.seq;
      handlers.entry(entry);
    };
    this.#source.addEventListener('gap', (event) => {
      const { missed } = JSON.parse((event as MessageEvent<string>).data) as { missed: number };
      if (event instanceof MessageEvent && event.lastEventId !== '') this.#lastSeq = Number(event.lastEventId);
      handlers.gap(missed);
    });
    this.#source.addEventListener('progress', (event) => {
      const { percent, message } = JSON.parse((event as MessageEvent<string>).data) as { percent: number; message: string };
      handlers.progress(percent, message);
    });
    this.#source.addEventListener('done', (event) => {
      const { status } = JSON.parse((event as MessageEvent<string>).data) as { status: ExecutionStatus };
      this.close();
      handlers.done(status);
    });
    this.#source.onerror = () => {
      // CONNECTING: a dropped connection that EventSource is already retrying. CLOSED: the
      // server answered with something other than a stream (a 401 or 404): it gives up.
      if (!this.#closed && this.#source.readyState === EventSource.CLOSED) {
        this.close();
        handlers.failed();
      }
    };
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  close(): void {
    this.#closed = true;
    this.#source.close();
  }
}

/** On the page's WebSocket; moves to an EventSource if the socket cannot be opened. */
class SocketStream implements LiveStream, SocketListener {
  readonly #execId: string;
  readonly #handlers: StreamHandlers;
  readonly #onTransport: (transport: Transport) => void;
  #lastSeq = 0;
  #closed = false;
  #sse: SseStream | undefined;

  constructor(execId: string, handlers: StreamHandlers, onTransport: (transport: Transport) => void) {
    this.#execId = execId;
    this.#handlers = handlers;
    this.#onTransport = onTransport;
    pageSocket.listen(execId, this);
  }

  get lastSeq(): number {
    return this.#sse?.lastSeq ?? this.#lastSeq;
  }

  get transport(): Transport {
    return this.#sse === undefined ? 'websocket' : 'sse';
  }

  opened(): void {
    if (this.#closed) return;
    this.#onTransport('websocket');
    pageSocket.send({ type: 'subscribe', execution_id: this.#execId, after: this.#lastSeq });
  }

  lost(failedToOpen: boolean): void {
    if (this.#closed || !failedToOpen) return;
    pageSocket.unlisten(this.#execId);
    void this.#fallBack();
  }

  /** No socket: an EventSource from the last seq, unless the session is over. */
  async #fallBack(): Promise<void> {
    const me = await call('GET', '/api/me');
    if (this.#closed) return;
    if (me.status === 401) {
      this.#closed = true;
      this.#handlers.failed();
      return;
    }
    this.#onTransport('sse');
    this.#sse = new SseStream(this.#execId, this.#lastSeq, this.#handlers);
  }

  message(message: ServerMessage): void {
    if (this.#closed) return;
    switch (message.type) {
      case 'entry': {
        const entry = { seq: Number(message.seq), timestamp: String(message.timestamp), level: message.level, message: String(message.message) } as LogEntry;
        if (entry.seq <= this.#lastSeq) return;
        this.#lastSeq = entry.seq;
        this.#handlers.entry(entry);
        return;
      }
      case 'gap':
        this.#lastSeq = Math.max(this.#lastSeq, Number(message.seq));
        this.#handlers.gap(Number(message.missed));
        return;
      case 'progress':
        this.#handlers.progress(Number(message.percent), String(message.message));
        return;
      case 'done':
        // The server ended the subscription with it.
        this.#stop();
        this.#handlers.done(message.status as ExecutionStatus);
        return;
      case 'error':
        // The subscribe was refused (the execution is gone, or too many streams).
        this.#stop();
        this.#handlers.failed();
        return;
    }
  }

  #stop(): void {
    this.#closed = true;
    this.#sse?.close();
    pageSocket.unlisten(this.#execId);
  }

  close(): void {
    if (this.#closed) return;
    this.#stop();
    if (pageSocket.open) pageSocket.send({ type: 'unsubscribe', execution_id: this.#execId });
  }
}
