// Per-execution limits (CPU time, memory, wall-clock time, result size, message size), each
// ending only the execution that broke it, and sleeping executions holding no thread.
import { expect } from 'chai';
import type { Client, HttpResult } from './helpers/client.js';
import { asArray, asObject, expectLogEntries } from './helpers/expectations.js';
import { doneStatus, getResult, runToEnd, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

const MEMORY_BOMB = 'const a = []; while (true) a.push(new Array(1e6).fill(1))';

function execute(client: Client, program: string): Promise<HttpResult> {
  return client.json('POST', '/api/execute', { program });
}

function expectValue(res: HttpResult, value: unknown): void {
  expect(res.status, res.text).to.equal(200);
  expect(asObject(res.body).result).to.eql(value);
}

/** A failed execution's answer (sync or result endpoint): 500 with an error matching `message`. */
function expectLimitError(res: HttpResult, message: RegExp): void {
  expect(res.status, res.text).to.equal(500);
  const body = asObject(res.body);
  expect(body.status).to.equal('error');
  expect(body.error).to.be.a('string');
  expect(body.error).to.match(message);
}

describe('execution limits', () => {
  const server = useServer({ CHARIOT_CPU_MS: '500', CHARIOT_MEMORY_MB: '32', CHARIOT_WALL_MS: '4000' });
  let alice: Client;
  let bob: Client;
  let carol: Client;

  before(async () => {
    [alice, bob, carol] = await Promise.all([server.login('alice'), server.login('bob'), server.login('carol')]);
  });

  it("ends while(true){} at the CPU limit with an error naming it, while another user's execution completes", async () => {
    const id = await submit(alice, 'logPrint("spinning"); await sleep(1); while (true) {}');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // the loop is about to start (or has)
    const ok = await execute(bob, 'logPrint("ok"); 1+2');
    expectValue(ok, 3);
    const bobLogs = asObject(ok.body).logs;
    expectLogEntries(bobLogs, [{ level: 'INFO', message: 'ok' }]);
    expect((await getResult(alice, id)).status, 'the loop still ran while bob was served').to.equal(202);
    expect(doneStatus(await stream.untilDone())).to.equal('error');
    expectLimitError(await getResult(alice, id), /cpu/i);
  });

  it('ends a memory bomb with an error naming memory, and the same user can run again at once (three times over)', async () => {
    for (let round = 1; round <= 3; round++) {
      expectLimitError(await execute(alice, MEMORY_BOMB), /memory/i);
      expectValue(await execute(alice, '1+2'), 3);
    }
  });

  it("leaves another user's sleeping execution and its log intact when one user's script runs out of memory", async () => {
    const id = await submit(bob, 'logPrint("sleeping"); await sleep(1500); logPrint("woke"); 42');
    const stream = await bob.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // bob's script now sleeps for 1.5 s
    expectLimitError(await execute(alice, MEMORY_BOMB), /memory/i);
    expect((await getResult(bob, id)).status, 'the bomb went off while bob slept').to.equal(202);
    const events = await stream.untilDone();
    expect(doneStatus(events)).to.equal('completed');
    const result = await getResult(bob, id);
    expectValue(result, { value: 42, type: 'number' });
    expectLogEntries(asObject(result.body).logs, [
      { level: 'INFO', message: 'sleeping' },
      { level: 'INFO', message: 'woke' },
    ]);
  });

  it('runs 40 executions of await sleep(1000) on 2 threads all at the same time', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, () => execute(carol, 'await sleep(1000); 1')));
    for (const res of answers) expectValue(res, 1);
    // Proof of overlap from the service's own timestamps rather than a stopwatch: the last of
    // the 40 to start started before the first of them completed, so all 40 were awaiting
    // at once, which a thread per sleeper (2 threads) could not do.
    const bodies = await Promise.all(answers.map(async (res) => asObject((await getResult(carol, String(asObject(res.body).execution_id))).body)));
    const lastStart = Math.max(...bodies.map((body) => Date.parse(String(body.started_at))));
    const firstEnd = Math.min(...bodies.map((body) => Date.parse(String(body.completed_at))));
    expect(lastStart, 'the last start, against the first completion').to.be.below(firstEnd);
  });

  it('ends an execution at the wall-clock limit with an error naming it', async () => {
    const { events, result } = await runToEnd(carol, 'logPrint("napping"); await sleep(10000); 1');
    expect(doneStatus(events)).to.equal('error');
    expectLimitError(result, /wall.?clock/i);
    expectLogEntries(asObject(result.body).logs, [{ level: 'INFO', message: 'napping' }]);
  });

  it('ends an execution whose result is over the size limit (1 MiB) with an error naming it', async () => {
    const { result } = await runToEnd(carol, '"x".repeat(2 * 1024 * 1024)');
    expectLimitError(result, /size/i);
  });

  it('cuts a log message at 64 KiB and says so, without stopping the script', async () => {
    const { result } = await runToEnd(carol, 'logPrint("y".repeat(70000)); logPrint("after"); "ran on"');
    expectValue(result, { value: 'ran on', type: 'string' });
    const logs = asArray(asObject(result.body).logs).map((entry) => asObject(entry));
    expect(logs.map((entry) => entry.level)).to.eql(['INFO', 'INFO']);
    expect(logs[1]!.message).to.equal('after');
    const cut = String(logs[0]!.message);
    expect(cut.startsWith('y'.repeat(64 * 1024)), 'keeps the first 64 Ki characters').to.equal(true);
    expect(cut.length).to.be.below(70000);
    expect(cut.slice(64 * 1024), 'says it was cut').to.match(/cut|truncat/i);
  });

  it('still serves everyone after all of the above', async () => {
    const health = await server.anonymous().json('GET', '/healthz');
    expect(health.status).to.equal(200);
    for (const client of [alice, bob, carol]) expectValue(await execute(client, '"alive"'), 'alive');
    const id = await submit(alice, 'logPrint("streaming still works"); 1');
    expect(doneStatus(await streamToEnd(alice, id))).to.equal('completed');
  });
});
