// The minimal HTTP front of the baseline servers (fork-server.ts, quickjs-server.ts): what a
// small code-running service would write with plain node:http, in chariot-exec's JSON shapes
// for what the benchmarks use:
//   POST /login        {"username","password"} → 200 {"username"} + cookie · 401 · 400
//   POST /api/execute  {"program"}             → 200 {"result","type","logs"} · 500 {"error","logs"} · 400 · 401
//   GET  /healthz                              → 200 {"status":"ok"}
// Each baseline gives it one function that runs a program; the front owns the sessions and
// the harness link (started by the harness, it answers over IPC; started alone, it says
// where it listens). Keep-alive is node:http's default; nothing here waits on purpose.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerHarness } from '../lib/harness-link.js';
import type { ServerEnv } from '../lib/server-ipc.js';

export interface LogEntry {
  readonly timestamp: string;
  readonly level: string;
  readonly message: string;
}

/** How one execution ended, as a baseline's runner reports it. */
export type ExecutionReply =
  | { readonly ok: true; readonly value: unknown; readonly type: string; readonly logs: readonly LogEntry[] }
  | { readonly ok: false; readonly error: string; readonly logs: readonly LogEntry[] };

export interface FrontOptions {
  /** Printed when the server runs alone: "… listening on <url>". */
  readonly name: string;
  /** The variable that lists the users as name:password,name:password. */
  readonly usersVariable: string;
  readonly defaultPort: number;
  readonly execute: (program: string) => Promise<ExecutionReply>;
  /** Releases what the baseline holds once the HTTP server is closed (a thread pool, say). */
  readonly close?: () => Promise<void>;
}

const BODY_LIMIT = 1024 * 1024;

/** The configuration of a baseline server: argv[2] as JSON when the harness starts it, the environment otherwise. */
export function serverEnv(): ServerEnv {
  return process.argv[2] === undefined ? (process.env as Record<string, string>) : (JSON.parse(process.argv[2]) as ServerEnv);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) return undefined;
    chunks.push(chunk);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Listens, and answers until the harness (or, run alone, a signal) stops the process. */
export async function serveMinimalFront(options: FrontOptions): Promise<void> {
  const env = serverEnv();
  const users = new Map((env[options.usersVariable] ?? 'admin:admin').split(',').map((pair) => {
    const colon = pair.indexOf(':');
    return [pair.slice(0, colon), pair.slice(colon + 1)] as const;
  }));
  /** Session token → user name. */
  const sessions = new Map<string, string>();

  const sessionUser = (req: IncomingMessage): string | undefined => {
    const match = /(?:^|;\s*)sid=([0-9a-f]+)/.exec(req.headers.cookie ?? '');
    return match ? sessions.get(match[1]!) : undefined;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'POST' && req.url === '/login') {
      const body = await readJson(req);
      const { username, password } = body ?? {};
      if (typeof username !== 'string' || typeof password !== 'string') return reply(res, 400, { error: 'Invalid request' });
      if (users.get(username) !== password) return reply(res, 401, { error: 'Invalid credentials' });
      const token = randomBytes(16).toString('hex');
      sessions.set(token, username);
      return reply(res, 200, { username }, { 'set-cookie': `sid=${token}; Path=/; HttpOnly; SameSite=Lax` });
    }
    if (req.method === 'POST' && req.url === '/api/execute') {
      if (sessionUser(req) === undefined) return reply(res, 401, { error: 'Unauthorized' });
      const body = await readJson(req);
      const program = body?.program;
      if (typeof program !== 'string' || program.trim() === '') return reply(res, 400, { error: 'Missing program in request' });
      const outcome = await options.execute(program);
      if (outcome.ok) return reply(res, 200, { result: outcome.value, type: outcome.type, logs: outcome.logs });
      return reply(res, 500, { error: outcome.error, logs: outcome.logs });
    }
    if (req.method === 'GET' && req.url === '/healthz') return reply(res, 200, { status: 'ok' });
    return reply(res, 404, { error: 'Not found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: String(error) });
    });
  });
  server.listen(Number(env.PORT ?? options.defaultPort), env.HOST ?? '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  if (process.send === undefined) {
    console.log(`${options.name} listening on ${url}`);
  } else {
    let closing: Promise<void> | undefined;
    answerHarness(url, () => {
      closing ??= (async () => {
        server.close();
        server.closeAllConnections();
        await options.close?.();
      })();
      return closing;
    });
  }
}
