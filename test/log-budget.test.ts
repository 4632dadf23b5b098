// What the main thread keeps of the logs, bounded per user (CHARIOT_LOG_BUDGET_PER_USER) and in
// total (CHARIOT_LOG_BUDGET): the oldest entries of finished executions are evicted first and
// their readers get exact gaps; a running execution's oldest entries go only when nothing
// finished is left to give; a submission is refused with 503 only while running executions
// alone fill the budget; /healthz shows it all; and the retention sweep wins over a stalled reader.
import { expect } from 'chai';
import { subscribersOf } from '../src/sse.js';
import type { Client } from './helpers/client.js';
import { asArray, asObject, expectError, type JsonObject } from './helpers/expectations.js';
import { getResult, streamToEnd, submit } from './helpers/executions.js';
import { REDIS_MODE } from './helpers/redis-mode.js';
import { useServer } from './helpers/server.js';
import { entries, expectEvents, type ExpectedEvent } from './helpers/streams.js';

const MIB = 1024 * 1024;
/** Characters of each big entry, and what one counts as against a budget (2 bytes a character + 420). */
const CHARS = 100_000;
const ENTRY = 2 * CHARS + 420;

/** A program that logs `count` entries of CHARS characters, each made of `letter`, then runs `then`. */
function logs(count: number, letter: string, then = '1'): string {
  return `for (let i = 1; i <= ${count}; i++) logPrint("${letter}".repeat(${CHARS})); ${then}`;
}

function letters(letter: string): (seq: number) => string {
  return () => letter.repeat(CHARS);
}

async function logStats(client: Client): Promise<JsonObject> {
  const res = await client.json('GET', '/healthz');
  expect(res.status, res.text).to.equal(200);
  return asObject(asObject(res.body).logs, '/healthz logs');
}

/** POST /api/execute, which answers once the execution has ended; asserts it completed. */
async function runSync(client: Client, program: string): Promise<string> {
  const res = await client.json('POST', '/api/execute', { program });
  expect(res.status, res.text).to.equal(200);
  return String(asObject(res.body).execution_id);
}

/** Waits until /healthz shows `test` true of the logs (checked every 20 ms, at most 20 s). */
async function untilLogs(client: Client, test: (logs: JsonObject) => boolean, what: string): Promise<JsonObject> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const stats = await logStats(client);
    if (test(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`/healthz never showed ${what}: ${JSON.stringify(stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const gapThen = (missed: number, rest: readonly ExpectedEvent[]): ExpectedEvent[] => [{ gap: missed, through: missed }, ...rest];

/**
 * The budgets bound what the main thread keeps, and in memory its readers read that. In Redis
 * mode (CHARIOT_TEST_REDIS=1) a finished execution is read from Redis, which keeps its ring
 * whatever a budget evicted here (docs/API.md "Scale-out on Redis": not shared): these run in memory only.
 */
const inMemory = REDIS_MODE ? describe.skip : describe;

describe('the kept-log budgets', () => {
  inMemory('per user (CHARIOT_LOG_BUDGET_PER_USER=1mb)', () => {
    const server = useServer({ CHARIOT_LOG_BUDGET_PER_USER: '1mb', CHARIOT_LOG_BUDGET: '64mb', CHARIOT_LOG_MESSAGE_LIMIT: String(CHARS) });

    it("evicts the oldest entry of the user's oldest finished execution, and nobody else's; its stream says so with an exact gap", async () => {
      const [alice, bob] = [await server.login('alice'), await server.login('bob')];
      const first = await runSync(alice, logs(4, 'a'));
      expect(await logStats(alice)).to.eql({
        kept_bytes: 4 * ENTRY,
        live_bytes: 0,
        budget_bytes: 64 * MIB,
        user_budget_bytes: MIB,
        largest_user_bytes: 4 * ENTRY,
        evicted_entries: 0,
      });
      const bobs = await runSync(bob, logs(3, 'c'));
      // 4 + 2 entries are 1,202,520 bytes: alice's first execution gives up its first entry.
      const second = await runSync(alice, logs(2, 'b'));
      expect(await logStats(alice)).to.eql({
        kept_bytes: 8 * ENTRY,
        live_bytes: 0,
        budget_bytes: 64 * MIB,
        user_budget_bytes: MIB,
        largest_user_bytes: 5 * ENTRY,
        evicted_entries: 1,
      });
      expectEvents(await streamToEnd(alice, first), gapThen(1, [...entries(2, 4, letters('a')), { done: 'completed' }]), 'the first execution');
      expectEvents(await streamToEnd(alice, second), [...entries(1, 2, letters('b')), { done: 'completed' }], 'the second execution');
      expectEvents(await streamToEnd(bob, bobs), [...entries(1, 3, letters('c')), { done: 'completed' }], "bob's execution");
      const result = await getResult(alice, first);
      expect(asArray(asObject(result.body).logs).map((entry) => asObject(entry).seq)).to.eql([2, 3, 4]);
    });

    it('refuses a submission with 503 and Retry-After only while running executions alone fill 90 % of it, and evicts from the running one that keeps the most', async () => {
      const [dave, carol] = [await server.login('dave'), await server.login('carol')];
      const finished = await runSync(dave, logs(2, 'f'));
      // 6 entries of a running execution are over the budget with nothing else kept: the
      // finished execution gives up both of its entries, then the running one its first.
      const running = await submit(dave, logs(6, 'r', 'await sleep(60000)'));
      // One entry was evicted by the test before.
      const stats = await untilLogs(dave, (logs) => logs.evicted_entries === 4 && logs.live_bytes === 5 * ENTRY, 'the running execution holding 5 entries');
      expect(stats).to.deep.include({ kept_bytes: 13 * ENTRY, largest_user_bytes: 5 * ENTRY });
      const refused = await dave.json('POST', '/api/execute-async', { program: '1' });
      expectError(
        refused,
        503,
        `No room for another execution's log: this user's running executions fill their log budget (CHARIOT_LOG_BUDGET_PER_USER, ${MIB} bytes); try again when some have finished`,
        'LOG_BUDGET_FULL',
      );
      expect(refused.headers.get('retry-after')).to.equal('1');
      const sync = await dave.json('POST', '/api/execute', { program: '1' });
      expectError(sync, 503, asObject(refused.body).error as string, 'LOG_BUDGET_FULL');
      // Another user is not refused.
      expect((await carol.json('POST', '/api/execute', { program: 'logPrint("mine"); 2' })).body).to.deep.include({ result: 2, type: 'number' });
      expectEvents(await streamToEnd(dave, finished), [{ gap: 2, through: 2 }, { done: 'completed' }], 'the finished execution');
      const stream = await dave.sse(`/api/logs/${running}`);
      await stream.nthEvent(6);
      expect((await dave.json('POST', `/api/execution/${running}/cancel`)).status).to.equal(202);
      expectEvents(await stream.untilDone(), gapThen(1, [...entries(2, 6, letters('r')), { done: 'cancelled' }]), 'the running execution');
      // Finished, its log no longer counts as running: dave may submit again.
      expect((await dave.json('POST', '/api/execute', { program: '3' })).body).to.deep.include({ result: 3 });
    });
  });

  inMemory('in total (CHARIOT_LOG_BUDGET=1mb)', () => {
    const server = useServer({ CHARIOT_LOG_BUDGET: '1mb', CHARIOT_LOG_BUDGET_PER_USER: '1mb', CHARIOT_LOG_MESSAGE_LIMIT: String(CHARS) });

    it("evicts the oldest finished execution's entries first, whoever's they are", async () => {
      const [alice, bob] = [await server.login('alice'), await server.login('bob')];
      const first = await runSync(alice, logs(2, 'a'));
      const second = await runSync(alice, logs(2, 'b'));
      const bobs = await runSync(bob, logs(3, 'c'));
      // 7 entries are over 1 MiB, 5 are not: alice's first execution gives up both of its entries.
      expect(await logStats(bob)).to.eql({
        kept_bytes: 5 * ENTRY,
        live_bytes: 0,
        budget_bytes: MIB,
        user_budget_bytes: MIB,
        largest_user_bytes: 3 * ENTRY,
        evicted_entries: 2,
      });
      expectEvents(await streamToEnd(alice, first), [{ gap: 2, through: 2 }, { done: 'completed' }], "alice's first");
      expectEvents(await streamToEnd(alice, second), [...entries(1, 2, letters('b')), { done: 'completed' }], "alice's second");
      expectEvents(await streamToEnd(bob, bobs), [...entries(1, 3, letters('c')), { done: 'completed' }], "bob's");
    });

    it("past it with nothing finished left, evicts from the running execution of the user whose running executions keep the most, and refuses everyone's submissions", async () => {
      const [carol, dave] = [await server.login('carol'), await server.login('dave')];
      await untilLogs(carol, (logs) => logs.live_bytes === 0, 'nothing running');
      const small = await submit(carol, logs(1, 's', 'await sleep(60000)'));
      await untilLogs(carol, (logs) => logs.live_bytes === ENTRY, "carol's entry");
      const large = await submit(dave, logs(5, 'l', 'await sleep(60000)'));
      // The 5 finished entries the test before left go first (with carol's entry, alice's
      // second execution's first), then 6 running entries are over 1 MiB: dave's first goes.
      const stats = await untilLogs(carol, (logs) => logs.evicted_entries === 8, "every finished entry and dave's first evicted");
      expect(stats).to.eql({
        kept_bytes: 5 * ENTRY,
        live_bytes: 5 * ENTRY,
        budget_bytes: MIB,
        user_budget_bytes: MIB,
        largest_user_bytes: 4 * ENTRY,
        evicted_entries: 8,
      });
      for (const client of [carol, dave]) {
        expectError(
          await client.json('POST', '/api/execute-async', { program: '1' }),
          503,
          `No room for another execution's log: running executions fill the log budget of the server (CHARIOT_LOG_BUDGET, ${MIB} bytes); try again when some have finished`,
          'LOG_BUDGET_FULL',
        );
      }
      for (const [client, id] of [[carol, small], [dave, large]] as const) {
        expect((await client.json('POST', `/api/execution/${id}/cancel`)).status).to.equal(202);
      }
      expectEvents(await streamToEnd(carol, small), [...entries(1, 1, letters('s')), { done: 'cancelled' }], "carol's");
      expectEvents(await streamToEnd(dave, large), gapThen(1, [...entries(2, 5, letters('l')), { done: 'cancelled' }]), "dave's");
    });
  });

  inMemory('the flood of issue 12: 64 running executions of one user, each logging 64 Ki characters at a time for as long as it may', () => {
    const server = useServer({
      CHARIOT_LOG_BUDGET: '16mb',
      CHARIOT_LOG_BUDGET_PER_USER: '8mb',
      CHARIOT_CPU_MS: '200',
      CHARIOT_MAX_PER_USER: '64',
    });

    it("keeps at most the user's budget at every moment, refuses the user's submissions once running ones fill it, and another user's execution gets its whole log", async function () {
      this.timeout(180_000);
      const [alice, bob] = [await server.login('alice'), await server.login('bob')];
      const answers = await Promise.all(Array.from({ length: 64 }, () => alice.json('POST', '/api/execute-async', { program: 'for (;;) logPrint("x".repeat(65536))' })));
      const ids: string[] = [];
      for (const answer of answers) {
        if (answer.status === 200) ids.push(String(asObject(answer.body).execution_id));
        else expectError(answer, 503, "No room for another execution's log: this user's running executions fill their log budget (CHARIOT_LOG_BUDGET_PER_USER, 8388608 bytes); try again when some have finished", 'LOG_BUDGET_FULL');
      }
      expect(ids.length, 'submissions accepted').to.be.at.least(1);
      let most = 0;
      let samples = 0;
      const aliceUnfinished = async (): Promise<number> => {
        const listed = asArray((await alice.json('GET', '/api/executions?limit=1000')).body);
        return listed.filter((item) => ['queued', 'running'].includes(String(asObject(item).status))).length;
      };
      const sampling = (async () => {
        for (;;) {
          const stats = await logStats(bob);
          samples++;
          most = Math.max(most, Number(stats.kept_bytes));
          expect(Number(stats.largest_user_bytes), JSON.stringify(stats)).to.be.at.most(8 * MIB);
          if ((await aliceUnfinished()) === 0) return logStats(bob);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      const bobs = await submit(bob, 'for (let i = 1; i <= 3; i++) logPrint("bob " + i); 7');
      expectEvents(await streamToEnd(bob, bobs), [...entries(1, 3, (seq) => `bob ${seq}`), { done: 'completed' }], "bob's execution");
      const end = await sampling;
      // Bob's three short entries are all that may come on top of alice's 8 MiB.
      expect(most, 'the most kept at a sample').to.be.at.most(8 * MIB + 4 * 1024);
      expect(samples, 'samples taken').to.be.at.least(2);
      expect(end).to.deep.include({ live_bytes: 0, budget_bytes: 16 * MIB, user_budget_bytes: 8 * MIB });
      expect(Number(end.evicted_entries), 'entries evicted').to.be.above(0);
      for (const id of ids) {
        const body = asObject((await getResult(alice, id)).body);
        expect(body.status, `${id}: ${String(body.error)}`).to.equal('error');
        expect(body.error).to.match(/CPU time limit/);
      }
    });
  });

  describe('retention wins over a stalled reader (CHARIOT_RETENTION_MS=1000)', () => {
    const server = useServer({ CHARIOT_RETENTION_MS: '1000', CHARIOT_LOG_BUDGET: '256mb', CHARIOT_LOG_BUDGET_PER_USER: '256mb' });

    it('cuts the stream of a reader whose socket takes nothing once the execution is forgotten, and gives its log back', async () => {
      const alice = await server.login('alice');
      // 1,000 entries of 20,000 characters: far more than the socket buffers take.
      const id = await submit(alice, 'for (let i = 0; i < 1000; i++) logPrint("z".repeat(20000)); 1');
      const execution = await server.manager.get(id, 'alice');
      const stream = await alice.sse(`/api/logs/${id}`);
      stream.pause();
      await execution.whenFinished();
      while (subscribersOf(execution)[0]?.blocked !== true && !execution.forgotten) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(subscribersOf(execution).map((subscriber) => subscriber.blocked), 'a stalled subscriber before it is forgotten').to.eql([true]);
      while (!execution.forgotten) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(subscribersOf(execution), 'subscribers once it is forgotten').to.eql([]);
      // What the client's socket holds still arrives, then the reset.
      stream.resume();
      await stream.text();
      expect(stream.endedCleanly, 'the stream was cut, not ended').to.equal(false);
      const kinds = stream.events.map((event) => event.event);
      expect(kinds.filter((kind) => kind !== 'message'), 'only entries arrived').to.eql([]);
      expect(kinds.length, 'entries that reached the client').to.be.below(1000);
      expectError(await getResult(alice, id), 404, 'Execution not found', 'EXECUTION_NOT_FOUND');
      expect(await logStats(alice)).to.deep.include({ kept_bytes: 0, live_bytes: 0, largest_user_bytes: 0, evicted_entries: 0 });
    });
  });
});
