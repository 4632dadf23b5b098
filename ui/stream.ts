// One execution's event stream, through the browser's EventSource: when the connection drops,
// EventSource reconnects by itself after the server's `retry:` delay and sends Last-Event-ID,
// so the server resumes after the last entry received. Entries at or below the last seq seen
// are dropped here too, so a line is never shown twice. `done` closes the stream for good
// (an EventSource would otherwise reconnect after the server ended the response).
import type { ExecutionStatus, LogEntry } from './api.js';

export interface StreamHandlers {
  entry(entry: LogEntry): void;
  gap(missed: number): void;
  progress(percent: number, message: string): void;
  done(status: ExecutionStatus): void;
  /** The stream could not be opened or resumed (the server refused it). */
  failed(): void;
}

export class ExecutionStream {
  readonly #source: EventSource;
  #lastSeq = 0;
  #closed = false;

  constructor(execId: string, handlers: StreamHandlers) {
    this.#source = new EventSource(`/api/logs/${encodeURIComponent(execId)}`);
    this.#source.onmessage = (event) => {
      const entry = JSON.parse(event.data as string) as LogEntry;
      if (entry.seq <= this.#lastSeq) return;
      this.#lastSeq = entry.seq;
      handlers.entry(entry);
    };
    this.#source.addEventListener('gap', (event) => {
      const { missed } = JSON.parse((event as MessageEvent<string>).data) as { missed: number };
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

  /** The last entry received (the Last-Event-ID of the next reconnect). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  close(): void {
    this.#closed = true;
    this.#source.close();
  }
}
