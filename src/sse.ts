// The Server-Sent-Events writer for one subscriber of one execution.
//
// The subscriber holds a cursor (the last seq it was sent) into the execution's LogBuffer and
// no queue of its own: when entries are appended, or when its socket drains after write()
// returned false, it reads on from the cursor. A cursor that fell behind the ring's start gets
// `event: gap` with the exact count. When the execution has finished and the cursor has
// reached the end, it sends `event: done` and ends the response. Knows nothing of isolates.
import type { ServerResponse } from 'node:http';
import type { Execution } from './execution.js';
import { LOG_LEVELS, type LogEntry, type LogLevel } from './log-buffer.js';

export interface StreamOptions {
  /** Send entries after this seq (0: from the start; from Last-Event-ID on resume). */
  readonly after: number;
  /** Skip entries below this level. */
  readonly minLevel: LogLevel;
  /** Interval of `: ping` comments, in ms. */
  readonly pingMs: number;
  /** Reconnection delay announced to EventSource clients, in ms. */
  readonly retryMs: number;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
});

/** Entries read from the ring per write, so one flood cannot build one huge string. */
const READ_CHUNK = 256;

function entryEvent(entry: LogEntry): string {
  return `id: ${entry.seq}\ndata: ${JSON.stringify(entry)}\n\n`;
}

function namedEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Streams `execution` to `res` until it is done or the client goes away. */
export function streamExecution(res: ServerResponse, execution: Execution, options: StreamOptions): void {
  const minRank = LOG_LEVELS.indexOf(options.minLevel);
  let cursor = options.after;
  let blocked = false;
  let ended = false;

  const write = (text: string): void => {
    if (!res.write(text)) blocked = true;
  };

  const pump = (): void => {
    if (blocked || ended) return;
    for (;;) {
      const { missed, entries } = execution.logs.readAfter(cursor, READ_CHUNK);
      if (missed === 0 && entries.length === 0) break;
      let text = missed > 0 ? namedEvent('gap', { missed }) : '';
      for (const entry of entries) {
        if (LOG_LEVELS.indexOf(entry.level) >= minRank) text += entryEvent(entry);
      }
      cursor = entries.at(-1)?.seq ?? cursor + missed;
      if (text !== '') write(text);
      if (blocked) return;
    }
    if (execution.finished) {
      ended = true;
      cleanup();
      res.end(namedEvent('done', { status: execution.status }));
    }
  };

  const onDrain = (): void => {
    blocked = false;
    pump();
  };

  const onProgress = (progress: { percent: number; message: string }): void => {
    // Progress is state, not history: a subscriber that is behind skips to the next one.
    if (!blocked && !ended) {
      pump();
      if (!blocked && !ended) write(namedEvent('progress', progress));
    }
  };

  const ping = setInterval(() => {
    if (!blocked && !ended) write(': ping\n\n');
  }, options.pingMs);

  const cleanup = (): void => {
    clearInterval(ping);
    execution.logs.off('appended', pump);
    execution.off('end', pump);
    execution.off('progress', onProgress);
    res.off('drain', onDrain);
    res.off('close', onClose);
  };

  const onClose = (): void => {
    ended = true;
    cleanup();
  };

  res.writeHead(200, SSE_HEADERS);
  write(`retry: ${options.retryMs}\n\n`);
  execution.logs.on('appended', pump);
  execution.on('end', pump);
  execution.on('progress', onProgress);
  res.on('drain', onDrain);
  res.on('close', onClose);
  // The replay, then the latest progress (it came after the retained entries).
  if (execution.progress) onProgress(execution.progress);
  else pump();
}
