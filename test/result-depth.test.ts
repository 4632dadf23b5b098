// A result nested more than MAX_RESULT_DEPTH (1,000) arrays and objects deep is an error of its
// execution, said in JSON on every endpoint that reports the end. On main, a result some 4,400
// levels deep passed the sandbox, then overflowed Node 24's JSON.stringify on the main thread:
// a plain-text "500 Internal Server Error" from /api/execute and /api/result alike.
import { expect } from 'chai';
import type { Client, Json } from './helpers/client.js';
import { spawnServer, type ServerProcess } from './helpers/adversary.js';
import { doneStatus, expectExecuteAnswer, expectResultAnswer, getResult, streamToEnd, submit, type Ending } from './helpers/executions.js';

const TOO_DEEP: Ending = { status: 'error', error: 'The result is nested too deeply to send: more than 1000 levels of arrays and objects' };

interface Shape {
  readonly name: string;
  /** The result's type. */
  readonly type: 'array' | 'object';
  /** A program whose result nests `depth` levels around `1`. */
  program(depth: number): string;
  /** That result, as the answers carry it. */
  value(depth: number): Json;
}

/** Levels around 1 made by `wrap`, the outermost last, as the programs make them. */
function nested(depth: number, wrap: (inner: Json, level: number) => Json): Json {
  let value: Json = 1;
  for (let level = 0; level < depth; level++) value = wrap(value, level);
  return value;
}

const SHAPES: readonly Shape[] = [
  {
    name: 'arrays',
    type: 'array',
    program: (depth) => `let v = 1; for (let i = 0; i < ${depth}; i++) v = [v]; v`,
    value: (depth) => nested(depth, (inner) => [inner]),
  },
  {
    name: 'objects',
    type: 'object',
    program: (depth) => `let v = 1; for (let i = 0; i < ${depth}; i++) v = { a: v }; v`,
    value: (depth) => nested(depth, (inner) => ({ a: inner })),
  },
  {
    name: 'arrays and objects in turn, with strings full of brackets and quotes beside them',
    type: 'object',
    program: (depth) => `let v = 1; for (let i = 0; i < ${depth}; i++) v = i % 2 === 0 ? [v, "[[{\\\\\\"["] : { a: v, b: "}]]\\"{{" }; v`,
    value: (depth) => nested(depth, (inner, level) => (level % 2 === 0 ? [inner, '[[{\\"['] : { a: inner, b: '}]]"{{' })),
  },
  {
    // JSON.stringify calls each getter inside the sandbox, recursing once per level there.
    name: 'objects, each level behind a getter',
    type: 'object',
    program: (depth) => `let v = 1; for (let i = 0; i < ${depth}; i++) { const inner = v; v = { get a() { return inner; } }; } v`,
    value: (depth) => nested(depth, (inner) => ({ a: inner })),
  },
];

describe('a deeply nested result, against a server process of its own', function () {
  this.timeout(60_000);
  let child: ServerProcess | undefined;
  let alice: Client;
  let bob: Client;

  before(async () => {
    child = await spawnServer({ CHARIOT_THREADS: '1' });
    [alice, bob] = await Promise.all([child.login('alice'), child.login('bob')]);
  });

  after(async () => {
    await child?.kill();
  });

  /** The same program through POST /api/execute, then POST /api/execute-async, its stream and GET /api/result. */
  async function expectEverywhere(program: string, ending: Ending): Promise<void> {
    expectExecuteAnswer(await alice.json('POST', '/api/execute', { program }), ending, []);
    const id = await submit(alice, program);
    expect(doneStatus(await streamToEnd(alice, id)), 'the done event').to.equal(ending.status);
    expectResultAnswer(await getResult(alice, id), id, ending, []);
  }

  for (const shape of SHAPES) {
    it(`${shape.name}: 1,000 levels complete with the whole value; 1,001 and 4,500 are an error saying why, on /api/execute, /api/result and the stream`, async () => {
      await expectEverywhere(shape.program(1000), { status: 'completed', value: shape.value(1000), type: shape.type });
      await expectEverywhere(shape.program(1001), TOO_DEEP);
      await expectEverywhere(shape.program(4500), TOO_DEEP);
    });
  }

  it("another user's 1+2 completes after them all, and so does the same user's next execution", async () => {
    expectExecuteAnswer(await bob.json('POST', '/api/execute', { program: '1+2' }), { status: 'completed', value: 3, type: 'number' }, []);
    expectExecuteAnswer(await alice.json('POST', '/api/execute', { program: '[[1]]' }), { status: 'completed', value: [[1]], type: 'array' }, []);
  });
});
