// Baseline "what a user would pick instead": the common minimal design of a code-running
// service, which isolates each execution in a child process, behind the minimal HTTP front
// of minimal-front.ts (plain node:http, chariot-exec's endpoint shapes for /login and
// /api/execute). Per request it forks fork-runner.js (child_process.fork), sends it the
// program, and answers with what the child sends back; the child is killed after TIMEOUT_MS.
//
// Kept fair: no artificial delay, keep-alive connections, children forked without the
// --no-node-snapshot flag (Node's start-up snapshot makes them start faster), and the
// program run as plain code in the child (node:vm would make function-heavy scripts ~20×
// slower, see shared/DESIGN.md). Run alone: PORT=8088 FORK_USERS=a:b node dist/bench/baselines/fork-server.js
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serveMinimalFront, type ExecutionReply } from './minimal-front.js';

const RUNNER = fileURLToPath(new URL('./fork-runner.js', import.meta.url));
const TIMEOUT_MS = 10_000;

function runInChild(program: string): Promise<ExecutionReply> {
  return new Promise((resolve) => {
    const child = fork(RUNNER, [], { execArgv: [], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    let answered = false;
    const answer = (reply: ExecutionReply): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      resolve(reply);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      answer({ ok: false, error: `Timed out after ${TIMEOUT_MS} ms`, logs: [] });
    }, TIMEOUT_MS);
    child.once('message', (reply: ExecutionReply) => answer(reply));
    child.once('exit', (code, signal) => answer({ ok: false, error: `The child exited (${signal ?? code}) without an answer`, logs: [] }));
    child.once('error', (error) => answer({ ok: false, error: error.message, logs: [] }));
    child.send({ program });
  });
}

await serveMinimalFront({ name: 'fork-per-execution baseline', usersVariable: 'FORK_USERS', defaultPort: 8088, execute: runInChild });
