// Baseline "what a user would pick instead": the common minimal design of a code-running
// service, which isolates each execution in a child process. Plain node:http, the same
// endpoint shapes as chariot-exec for what the benchmarks use:
//   POST /login        {"username","password"} → 200 {"username"} + cookie · 401
//   POST /api/execute  {"program"}             → 200 {"result","type","logs"} · 500 {"error","logs"} · 400 · 401
// Per request it forks fork-runner.js (child_process.fork), sends it the program, and
// answers with what the child sends back; the child is killed after TIMEOUT_MS.
//
// Kept fair: no artificial delay, keep-alive connections, children forked without the
// --no-node-snapshot flag (Node's start-up snapshot makes them start faster), and the
// program run as plain code in the child (node:vm would make function-heavy scripts ~20×
// slower, see shared/DESIGN.md). Run alone: PORT=8088 FORK_USERS=a:b node dist/bench/baselines/fork-server.js
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { answerHarness } from '../lib/harness-link.js';
import type { ServerEnv } from '../lib/server-ipc.js';
import type { RunnerReply } from './fork-runner.js';

const RUNNER = fileURLToPath(new URL('./fork-runner.js', import.meta.url));
const TIMEOUT_MS = 10_000;
const BODY_LIMIT = 1024 * 1024;

const env: ServerEnv = process.argv[2] === undefined ? (process.env as Record<string, string>) : (JSON.parse(process.argv[2]) as ServerEnv);
const users = new Map((env.FORK_USERS ?? 'admin:admin').split(',').map((pair) => {
  const colon = pair.indexOf(':');
  return [pair.slice(0, colon), pair.slice(colon + 1)] as const;
}));
/** Session token → user name. */
const sessions = new Map<string, string>();

function runInChild(program: string): Promise<RunnerReply> {
  return new Promise((resolve) => {
    const child = fork(RUNNER, [], { execArgv: [], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    let answered = false;
    const answer = (reply: RunnerReply): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      resolve(reply);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      answer({ ok: false, error: `Timed out after ${TIMEOUT_MS} ms`, logs: [] });
    }, TIMEOUT_MS);
    child.once('message', (reply: RunnerReply) => answer(reply));
    child.once('exit', (code, signal) => answer({ ok: false, error: `The child exited (${signal ?? code}) without an answer`, logs: [] }));
    child.once('error', (error) => answer({ ok: false, error: error.message, logs: [] }));
    child.send({ program });
  });
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

function sessionUser(req: IncomingMessage): string | undefined {
  const match = /(?:^|;\s*)sid=([0-9a-f]+)/.exec(req.headers.cookie ?? '');
  return match ? sessions.get(match[1]!) : undefined;
}

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
    const outcome = await runInChild(program);
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
server.listen(Number(env.PORT ?? 8088), env.HOST ?? '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
const url = `http://127.0.0.1:${port}`;

if (process.send === undefined) {
  console.log(`fork-per-execution baseline listening on ${url}`);
} else {
  answerHarness(url, async () => {
    server.close();
    server.closeAllConnections();
  });
}
