// Scripts keep standard JavaScript: several hundred small programs over the built-ins
// (test/conformance/programs.ts) run both in the service and in plain Node as a classic
// script in a fresh realm (test/conformance/reference.ts), and every whole answer must be
// the same: HTTP status, status, result and type or error text, and log entries. What the
// service changes by design (no Node globals, no WebAssembly, logPrint, top-level await,
// import()'s refusal) or cannot match (how isolated-vm passes on unhandled rejections) is
// stated by the tests at the end, and kept out of the comparison.
import { expect } from 'chai';
import { format } from 'node:util';
import type { Client, HttpResult } from './helpers/client.js';
import { asArray, asObject } from './helpers/expectations.js';
import { useServer, type User } from './helpers/server.js';
import { AREAS, TOP_LEVEL_AWAIT } from './conformance/programs.js';
import { runReference, STANDARD_GLOBALS, type ReferenceAnswer } from './conformance/reference.js';

const USERS: readonly User[] = ['alice', 'bob', 'carol', 'dave'];
/** Requests in flight: 8 per user, well under the 64 unfinished executions a user may have. */
const IN_FLIGHT = 32;

/** POST /api/execute's answer in the reference's shape (without `execution_id`; entries as "LEVEL message"). */
function answerOf(res: HttpResult): ReferenceAnswer {
  if (res.status !== 200 && res.status !== 500) return { http: res.status, status: 'error', error: res.text, logs: [] };
  const body = asObject(res.body);
  const logs = asArray(body.logs).map((entry) => {
    const { level, message } = asObject(entry);
    return `${String(level)} ${String(message)}`;
  });
  if (res.status === 200) return { http: 200, status: 'completed', result: body.result ?? null, type: String(body.type), logs };
  return { http: 500, status: body.status as ReferenceAnswer['status'], error: String(body.error), logs };
}

/** Runs every program in the service, IN_FLIGHT at a time over the users' clients; answers in order. */
async function runService(clients: readonly Client[], programs: readonly string[]): Promise<ReferenceAnswer[]> {
  const answers = new Array<ReferenceAnswer>(programs.length);
  let next = 0;
  const lane = async (client: Client): Promise<void> => {
    while (next < programs.length) {
      const index = next++;
      answers[index] = answerOf(await client.json('POST', '/api/execute', { program: programs[index]! }));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => lane(clients[i % clients.length]!)));
  return answers;
}

const show = (answer: ReferenceAnswer | undefined): string => JSON.stringify(answer);

/** One failure listing every program whose two answers differ, with both. */
function expectSameAnswers(what: string, programs: readonly string[], service: Map<string, ReferenceAnswer>, reference: Map<string, ReferenceAnswer>): void {
  const differing = programs.filter((program) => show(service.get(program)) !== show(reference.get(program)));
  if (differing.length === 0) return;
  const report = differing.map((program) => `${program}\n    service:   ${show(service.get(program))}\n    plain Node: ${show(reference.get(program))}`);
  expect.fail(`${what}: ${differing.length} of ${programs.length} programs answer differently in the service and in plain Node:\n\n${report.join('\n\n')}`);
}

describe('conformance: standard built-ins behave in a script as in plain V8', () => {
  const server = useServer();
  const programs = AREAS.flatMap((area) => area.programs);
  const service = new Map<string, ReferenceAnswer>();
  const reference = new Map<string, ReferenceAnswer>();
  let clients: Client[];

  before(async function () {
    // A loaded machine can slow the service and the reference alike: both run at once here.
    this.timeout(120_000);
    clients = await Promise.all(USERS.map((user) => server.login(user)));
    const all = [...programs, ...TOP_LEVEL_AWAIT.map(({ program }) => program)];
    const [inService, inNode] = await Promise.all([
      runService(clients, all),
      runReference([...programs, ...TOP_LEVEL_AWAIT.map(({ equivalent }) => equivalent)]),
    ]);
    all.forEach((program, i) => {
      service.set(program, inService[i]!);
      reference.set(program, inNode[i]!);
    });
  });

  it('has several hundred distinct programs over every area', () => {
    const all = [...programs, ...TOP_LEVEL_AWAIT.map(({ program }) => program)];
    expect(new Set(all).size, 'distinct programs').to.equal(all.length);
    expect(programs.length).to.be.above(300);
    for (const area of AREAS) expect(area.programs.length, area.name).to.be.at.least(5);
  });

  for (const area of AREAS) {
    it(`${area.name}: ${area.programs.length} programs answer exactly as in plain Node`, () => {
      expectSameAnswers(area.name, area.programs, service, reference);
    });
  }

  it(`top-level await: ${TOP_LEVEL_AWAIT.length} programs answer as the async function a user would write for them`, () => {
    // The reference ran each one's `equivalent` (see before).
    expectSameAnswers('top-level await', TOP_LEVEL_AWAIT.map(({ program }) => program), service, reference);
  });

  it("the reference's fresh contexts answer as a worker thread's own realm does (global code, rejections)", async function () {
    this.timeout(120_000);
    const sample = AREAS.filter((area) => /^global code|^unhandled/.test(area.name)).flatMap((area) => area.programs);
    const inWorkers = await runReference(sample, { realm: 'worker' });
    const byWorker = new Map(sample.map((program, i) => [program, inWorkers[i]!]));
    const differing = sample.filter((program) => show(byWorker.get(program)) !== show(reference.get(program)));
    expect(differing.map((program) => `${program}\n    context: ${show(reference.get(program))}\n    worker:  ${show(byWorker.get(program))}`)).to.eql([]);
  });

  describe('differences by design, and Node\'s own change to V8, kept out of the comparison', () => {
    const execute = async (program: string): Promise<ReferenceAnswer> => answerOf(await clients[0]!.json('POST', '/api/execute', { program }));
    const inNode = async (program: string): Promise<ReferenceAnswer> => (await runReference([program]))[0]!;

    it("has none of Node's globals, no WebAssembly, no SharedArrayBuffer, no FinalizationRegistry, and logPrint, progress, sleep and input: the rest are V8's own", async () => {
      const names = await execute('Object.getOwnPropertyNames(globalThis)');
      const removed = ['WebAssembly', 'SharedArrayBuffer', 'FinalizationRegistry'];
      const expected = [...STANDARD_GLOBALS.filter((name) => !removed.includes(name)), 'logPrint', 'progress', 'sleep', 'input'];
      expect((names.result as string[]).sort()).to.eql(expected.sort());
      // Plain Node's own realm has them (this test process's global object).
      expect(['process', 'Buffer', 'setTimeout', 'fetch', 'structuredClone'].filter((name) => !Object.hasOwn(globalThis, name))).to.eql([]);
    });

    it('removes WebAssembly (its memories are outside the heap limit): typeof is "undefined", "object" in plain Node', async () => {
      expect(await execute('typeof WebAssembly')).to.eql({ http: 200, status: 'completed', result: 'undefined', type: 'string', logs: [] });
      expect(await inNode('typeof WebAssembly')).to.eql({ http: 200, status: 'completed', result: 'object', type: 'string', logs: [] });
    });

    it('removes FinalizationRegistry (V8 runs its callbacks outside every limit, after the execution too); WeakRef is there', async () => {
      const program = 'const fr = new FinalizationRegistry(() => {}); const token = {}; fr.register({}, "held", token); [typeof fr.register, fr.unregister({}), fr.unregister(token)]';
      expect(await execute(program)).to.eql({ http: 500, status: 'error', error: 'ReferenceError: FinalizationRegistry is not defined', logs: [] });
      expect(await inNode(program)).to.eql({ http: 200, status: 'completed', result: ['function', false, true], type: 'array', logs: [] });
      const weak = 'const o = { a: 1 }; const r = new WeakRef(o); [typeof FinalizationRegistry, r.deref() === o, Object.prototype.toString.call(r)]';
      expect(await execute(weak)).to.eql({ http: 200, status: 'completed', result: ['undefined', true, '[object WeakRef]'], type: 'array', logs: [] });
      expect(await inNode(weak)).to.eql({ http: 200, status: 'completed', result: ['function', true, '[object WeakRef]'], type: 'array', logs: [] });
    });

    it('removes SharedArrayBuffer and Atomics.wait/waitAsync, as a browser page without cross-origin isolation; the rest of Atomics is there', async () => {
      const program = '[typeof SharedArrayBuffer, typeof Atomics.wait, typeof Atomics.waitAsync, Object.getOwnPropertyNames(Atomics).sort()]';
      const others = ['add', 'and', 'compareExchange', 'exchange', 'isLockFree', 'load', 'notify', 'or', 'store', 'sub', 'xor'];
      const inService = await execute(program);
      const node = await inNode(program);
      // Atomics.pause is V8 13.x and later: present in both, or in neither.
      const pause = (node.result as [string, string, string, string[]])[3].includes('pause') ? ['pause'] : [];
      expect(inService).to.eql({ http: 200, status: 'completed', result: ['undefined', 'undefined', 'undefined', [...others, ...pause].sort()], type: 'array', logs: [] });
      expect(node).to.eql({ http: 200, status: 'completed', result: ['function', 'function', 'function', [...others, ...pause, 'wait', 'waitAsync'].sort()], type: 'array', logs: [] });
      const shared = 'new Int32Array(new SharedArrayBuffer(16)).length';
      expect(await execute(shared)).to.eql({ http: 500, status: 'error', error: 'ReferenceError: SharedArrayBuffer is not defined', logs: [] });
      expect(await inNode(shared)).to.eql({ http: 200, status: 'completed', result: 4, type: 'number', logs: [] });
    });

    it("logs with logPrint and console, whose text is the service's (objects as JSON), not Node's util.format", async () => {
      const program = 'logPrint("a", { b: 1 }, [1], 2n, null, undefined); console.warn(new RangeError("r")); 0';
      expect(await execute(program)).to.eql({
        http: 200, status: 'completed', result: 0, type: 'number',
        logs: ['INFO a {"b":1} [1] 2n null undefined', 'WARN RangeError: r'],
      });
      expect(format('a', { b: 1 }, [1], 2n, null, undefined)).to.equal('a { b: 1 } [ 1 ] 2n null undefined');
      expect(await inNode(program)).to.eql({ http: 500, status: 'error', error: 'ReferenceError: logPrint is not defined', logs: [] });
    });

    it('runs a program with top-level await as an async function, which a classic script cannot be', async () => {
      const program = 'var declared = 1; await null; [typeof globalThis.declared, declared]';
      expect(await execute(program)).to.eql({ http: 200, status: 'completed', result: ['undefined', 1], type: 'array', logs: [] });
      expect(await inNode(program)).to.eql({
        http: 500, status: 'error', logs: [],
        error: 'SyntaxError: await is only valid in async functions and the top level bodies of modules (line 1, column 19)',
      });
    });

    it("has V8's non-standard Intl.v8BreakIterator, which Node deletes from every context it makes (nodejs/node#14909)", async () => {
      const program = 'typeof Intl.v8BreakIterator';
      expect(await execute(program)).to.eql({ http: 200, status: 'completed', result: 'function', type: 'string', logs: [] });
      expect(await inNode(program)).to.eql({ http: 200, status: 'completed', result: 'undefined', type: 'string', logs: [] });
    });

    it('has no modules: import() converts its specifier, then rejects with a TypeError of its own, as plain Node does with its own', async () => {
      const program = 'import("x").then(() => "loaded", (e) => [e.name, e.message])';
      expect(await execute(program)).to.eql({
        http: 200, status: 'completed', result: ['TypeError', 'Cannot import "x": programs here run without modules'], type: 'array', logs: [],
      });
      expect(await inNode(program)).to.eql({
        http: 200, status: 'completed', result: ['TypeError', 'A dynamic import callback was not specified.'], type: 'array', logs: [],
      });
    });

    // isolated-vm hands the service only the first promise left rejected at the end of a call
    // into the isolate, copied out of it: a copy keeps an Error's class and message, and a
    // primitive, but nothing of another object (docs/API.md, "A promise rejected with no handler").
    const REJECTIONS: ReadonlyArray<readonly [program: string, service: readonly string[], node: readonly string[]]> = [
      ['Promise.reject(new Error("first")); Promise.reject(new TypeError("second")); "two"',
        ['Error: first'], ['Error: first', 'TypeError: second']],
      ['Promise.reject({ code: 1 }); "two"', ['#<Object> (an object that is not an Error)'], ['{"code":1}']],
      ['Promise.reject([1, 2]); "two"', ['#<Object> (an object that is not an Error)'], ['[1,2]']],
      ['Promise.reject(Symbol("s")); "two"', ['#<Object> (an object that is not an Error)'], ['Symbol(s)']],
      ['Promise.reject(() => 1); "two"', ['#<Object> (an object that is not an Error)'], ['[Function: (anonymous)]']],
      ['const e = new TypeError("x"); e.name = "Custom"; Promise.reject(e); "two"', ['TypeError: x'], ['Custom: x']],
    ];
    for (const [program, inService, inPlainNode] of REJECTIONS) {
      it(`reports unhandled rejections as isolated-vm passes them on: ${program}`, async () => {
        const answer = (reasons: readonly string[]): ReferenceAnswer => ({
          http: 200, status: 'completed', result: 'two', type: 'string', logs: reasons.map((reason) => `ERROR Uncaught (in promise) ${reason}`),
        });
        expect(await execute(program), 'the service').to.eql(answer(inService));
        expect(await inNode(program), 'plain Node').to.eql(answer(inPlainNode));
      });
    }
  });
});
