// The page's one WebSocket (GET /api/ws), shared by everything that streams or sends input:
// messages are routed to their execution's listener by `execution_id`, and answers to the
// page's own messages by `ref`. It opens when first needed and again after a drop (after
// RECONNECT_MS). One that cannot be opened sends its listeners their own way (SSE and HTTP,
// stream.ts); `usable` turns false for good when no socket was ever open on this page (no
// WebSocket in this browser, or a proxy that does not pass upgrades).

export type ServerMessage = { readonly type: string; readonly execution_id?: string; readonly ref?: string } & Readonly<Record<string, unknown>>;

export interface SocketListener {
  message(message: ServerMessage): void;
  /** The socket is open (again): subscribe (again). */
  opened(): void;
  /**
   * The socket dropped (`failedToOpen` false: it opens again by itself and calls opened()), or
   * could not be opened (true: the listener should stop listening and go its own way).
   */
  lost(failedToOpen: boolean): void;
}

const RECONNECT_MS = 1000;
/**
 * A socket not open by then is given up as one that could not be opened: a proxy may hold an
 * upgrade it does not understand without ever answering it.
 */
const OPEN_TIMEOUT_MS = 5000;

class PageSocket {
  #ws: WebSocket | undefined;
  #open = false;
  /** A socket has been open on this page: a later failure is a drop, not a missing WebSocket. */
  #everOpened = false;
  #usable = typeof WebSocket === 'function';
  #retry: ReturnType<typeof setTimeout> | undefined;
  readonly #listeners = new Map<string, SocketListener>();
  readonly #answers = new Map<string, (message: ServerMessage) => void>();
  #refs = 0;

  get usable(): boolean {
    return this.#usable;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Listens to one execution's messages; opens the socket if it is not. */
  listen(executionId: string, listener: SocketListener): void {
    this.#listeners.set(executionId, listener);
    if (this.#open) listener.opened();
    else this.#connect();
  }

  unlisten(executionId: string): void {
    this.#listeners.delete(executionId);
  }

  /** Sends a message; false when the socket is not open. */
  send(message: Record<string, unknown>): boolean {
    if (!this.#open || this.#ws === undefined) return false;
    this.#ws.send(JSON.stringify(message));
    return true;
  }

  /**
   * Sends a message with a ref of its own; resolves with the server's answer to it (an
   * `error`), or undefined after `quietMs` without one (messages that are answered only when
   * refused), or when the socket is not open (undefined is then `false`: not sent).
   */
  ask(message: Record<string, unknown>, quietMs: number): Promise<ServerMessage | undefined> | false {
    const ref = `page-${++this.#refs}`;
    if (!this.send({ ...message, ref })) return false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#answers.delete(ref);
        resolve(undefined);
      }, quietMs);
      this.#answers.set(ref, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }

  #connect(): void {
    if (this.#ws !== undefined || !this.#usable || this.#retry !== undefined) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/ws`);
    } catch {
      this.#usable = false;
      this.#lostAll(true);
      return;
    }
    this.#ws = ws;
    const giveUp = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    }, OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(giveUp);
      this.#open = true;
      this.#everOpened = true;
      for (const listener of [...this.#listeners.values()]) listener.opened();
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as ServerMessage;
      const answer = message.ref === undefined ? undefined : this.#answers.get(message.ref);
      if (answer !== undefined) {
        this.#answers.delete(message.ref!);
        answer(message);
        return;
      }
      if (message.execution_id !== undefined) this.#listeners.get(message.execution_id)?.message(message);
    };
    ws.onclose = () => {
      clearTimeout(giveUp);
      const wasOpen = this.#open;
      this.#open = false;
      this.#ws = undefined;
      // Never opened on this page: no WebSocket here (or no session; the listeners ask).
      if (!wasOpen && !this.#everOpened) this.#usable = false;
      this.#lostAll(!wasOpen);
      if (this.#usable && this.#listeners.size > 0) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          if (this.#listeners.size > 0) this.#connect();
        }, RECONNECT_MS);
      }
    };
  }

  #lostAll(failedToOpen: boolean): void {
    for (const listener of [...this.#listeners.values()]) listener.lost(failedToOpen);
  }
}

export const pageSocket = new PageSocket();
