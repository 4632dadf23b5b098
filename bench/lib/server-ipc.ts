// The messages between the harness and a server it runs in a child process (chariot-exec or
// the fork-per-execution baseline). Types only: both sides `import type` this file.

export type ToServer =
  | { readonly kind: 'memory' }
  | { readonly kind: 'close' };

export type FromServer =
  | { readonly kind: 'ready'; readonly url: string }
  | { readonly kind: 'memory'; readonly rssBytes: number; readonly heapUsedBytes: number }
  | { readonly kind: 'closed' };

/** The first command-line argument of a server child: its configuration variables, as JSON. */
export type ServerEnv = Readonly<Record<string, string>>;
