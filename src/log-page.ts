// One page of an execution's log, as GET /api/result answers it: the kept entries after a
// seq, at most a number of them and about 1 MiB of message text, with what was missed and
// where the next page starts. Knows nothing about HTTP.
import type { LogBuffer, LogEntry } from './log-buffer.js';

/** Message characters at which a page ends: the entry that reaches them is its last. */
export const PAGE_TEXT_CHARS = 1024 * 1024;

export interface LogPage {
  /** Oldest first; at least one when any is kept after `after`. */
  readonly entries: readonly LogEntry[];
  /** Entries after `after` that were evicted before this read. */
  readonly missed: number;
  /** The seq to read after next: the page's last entry, else the last one missed, else `after`. */
  readonly nextAfter: number;
  /** True when entries after this page are kept now. */
  readonly more: boolean;
}

/**
 * The entries with seq > `after`, at most `limit` of them, ending with the first whose message
 * brings the page's text to PAGE_TEXT_CHARS characters (UTF-16 code units, as messages are cut).
 */
export function logPage(logs: Pick<LogBuffer, 'readAfter' | 'lastSeq'>, after: number, limit: number): LogPage {
  const { missed, entries } = logs.readAfter(after, limit);
  let count = 0;
  for (let chars = 0; count < entries.length && chars < PAGE_TEXT_CHARS; count++) chars += entries[count]!.message.length;
  const page = count === entries.length ? entries : entries.slice(0, count);
  const nextAfter = page.length > 0 ? page[page.length - 1]!.seq : after + missed;
  return { entries: page, missed, nextAfter, more: nextAfter < logs.lastSeq };
}
