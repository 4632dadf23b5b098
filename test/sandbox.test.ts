// What a script can reach: no Node.js, no modules, nothing but the ECMAScript built-ins and
// the documented globals, in a fresh context every time.
import { expect } from 'chai';
import { runInNewContext } from 'node:vm';
import type { Client, HttpResult, Json } from './helpers/client.js';
import { asArray, asObject } from './helpers/expectations.js';
import { getResult, runToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

const DOCUMENTED_GLOBALS = ['logPrint', 'console', 'progress', 'sleep', 'input'];

function execute(client: Client, program: string): Promise<HttpResult> {
  return client.json('POST', '/api/execute', { program });
}

async function valueOf(client: Client, program: string): Promise<Json> {
  const res = await execute(client, program);
  expect(res.status, `${program}: ${res.text}`).to.equal(200);
  return asObject(res.body).result ?? null;
}

describe('the sandbox', () => {
  const server = useServer();
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  for (const name of ['process', 'require', 'module', 'exports', 'Buffer', 'global', 'fetch', 'setTimeout', 'setImmediate', 'queueMicrotask', 'WebSocket', 'XMLHttpRequest', '__dirname', 'Deno', 'Bun']) {
    it(`has no ${name}: typeof ${name} is "undefined"`, async () => {
      expect(await valueOf(alice, `typeof ${name}`)).to.equal('undefined');
    });
  }

  it('cannot reach process through the Function constructor', async () => {
    expect(await valueOf(alice, "globalThis.constructor.constructor('return typeof process')()")).to.equal('undefined');
    const res = await execute(alice, "globalThis.constructor.constructor('return process')()");
    expect(res.status, res.text).to.equal(500);
    expect(asObject(res.body).error).to.equal('ReferenceError: process is not defined');
  });

  it('cannot reach process through a host function given to it', async () => {
    expect(await valueOf(alice, "logPrint.constructor('return typeof process')()")).to.equal('undefined');
    expect(await valueOf(alice, "sleep.constructor('return typeof process')()")).to.equal('undefined');
    expect(await valueOf(alice, "console.log.constructor('return typeof require')()")).to.equal('undefined');
  });

  for (const specifier of ['node:fs', 'fs', 'node:child_process', 'data:text/javascript,export default 1']) {
    it(`cannot import('${specifier}'): the execution ends in error`, async () => {
      const { events, result } = await runToEnd(alice, `import('${specifier}')`);
      expect(events.map((e) => e.data)).to.eql(['{"status":"error"}']);
      expect(result.status, result.text).to.equal(500);
      expect(asObject(result.body).status).to.equal('error');
    });
  }

  it('has no static import: a module declaration is a syntax error', async () => {
    const res = await execute(alice, "import fs from 'fs'; 1");
    expect(res.status, res.text).to.equal(500);
    expect(asObject(res.body).error).to.match(/^SyntaxError/);
  });

  it('gives the documented globals as functions: logPrint, console.*, progress, sleep, input', async () => {
    expect(
      await valueOf(
        alice,
        '[logPrint, console.log, console.info, console.warn, console.error, console.debug, progress, sleep, input].map((f) => typeof f)',
      ),
    ).to.eql(Array.from({ length: 9 }, () => 'function'));
  });

  it('adds no globals but the documented ones to the ECMAScript built-ins', async () => {
    // The reference is a bare V8 context of the same V8 (node:vm adds nothing to its global).
    const builtins = new Set(runInNewContext('Object.getOwnPropertyNames(globalThis)') as string[]);
    const names = asArray(await valueOf(alice, 'Object.getOwnPropertyNames(globalThis)')).map(String);
    const extra = names.filter((name) => !builtins.has(name)).sort();
    // V8 itself has a `console` (which the service replaces): only the others are additions.
    expect(extra).to.eql(DOCUMENTED_GLOBALS.filter((name) => !builtins.has(name)).sort());
    expect(extra, 'the reference knows console, so the comparison is not vacuous').to.eql(['input', 'logPrint', 'progress', 'sleep']);
    const symbols = await valueOf(alice, 'Object.getOwnPropertySymbols(globalThis).map(String)');
    expect(symbols).to.eql(runInNewContext('Object.getOwnPropertySymbols(globalThis).map(String)') as string[]);
  });

  it('gives every execution a fresh context: globals and prototypes changed by one are not seen by the next', async () => {
    expect(await valueOf(alice, 'globalThis.leak = 1; Array.prototype.evil = 2; JSON.stringify = () => "hijacked"; "set"')).to.equal('set');
    expect(await valueOf(alice, '[typeof leak, typeof [].evil, JSON.stringify({ a: 1 })]')).to.eql(['undefined', 'undefined', '{"a":1}']);
  });

  it('gives a fresh context also when it was made ahead, while the isolate waited between two executions of its user', async () => {
    expect(await valueOf(alice, 'globalThis.early = 1; Object.prototype.planted = 2; "set"')).to.equal('set');
    // Long enough for the worker to make the kept isolate's next context in an idle turn.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await valueOf(alice, '[typeof early, typeof ({}).planted, Object.keys(globalThis).length]')).to.eql(['undefined', 'undefined', 0]);
    expect(await valueOf(alice, 'typeof early')).to.equal('undefined');
  });

  it("keeps one user's globals from another user", async () => {
    const bob = await server.login('bob');
    const id = await submit(alice, 'globalThis.secret = "alice"; logPrint("set"); await sleep(500); typeof secret');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // alice's global is set, and her script sleeps for 500 ms
    expect(await valueOf(bob, 'typeof secret')).to.equal('undefined');
    await stream.untilDone();
    expect(asObject((await getResult(alice, id)).body).result).to.eql({ value: 'string', type: 'string' });
  });

  it('survives a script that replaces its own globals and intrinsics before logging and returning', async () => {
    const { result } = await runToEnd(
      alice,
      'JSON.stringify = () => { throw new Error("no"); }; Promise.prototype.then = null; Array.prototype.push = null; ' +
        'logPrint("still", {ok: true}); ({ answer: 42 })',
    );
    expect(result.status, result.text).to.equal(200);
    const body = asObject(result.body);
    expect(body.result).to.eql({ value: { answer: 42 }, type: 'object' });
    expect(asArray(body.logs).map((entry) => asObject(entry).message)).to.eql(['still {"ok":true}']);
  });
});
