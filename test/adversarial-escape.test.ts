// Sandbox escape attempts, after what is publicly known about escaping JavaScript sandboxes:
// the node:vm / vm2 advisories (CVE-2022-36067, CVE-2023-29017, CVE-2023-30547, CVE-2023-32314,
// CVE-2023-37466), the `this.constructor.constructor('return process')()` family, call-site
// objects from Error.prepareStackTrace, Function.prototype.caller, Symbol.species and Proxy
// tricks on what the host's code handles, getters run while the host copies arguments or the
// result, import(), WebAssembly, SharedArrayBuffer, and tampering with the globals and the
// intrinsics the host's code relies on.
//
// Every payload starts with `escapePrelude` (helpers/adversary.ts): whatever host object an
// attack obtains goes through `pwn`, which writes a marker file if it reaches `process` or
// `require`. Each attempt asserts that the marker does not exist AND its exact outcome: status,
// result or error, the log stream, and that the same user's next execution is clean (with
// CHARIOT_THREADS=1, "next" runs in the same isolate whenever the attempt ended cleanly: an
// isolate is kept for its user's next execution then, see docs/API.md "Isolation unit").
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import type { Client, HttpResult, Json } from './helpers/client.js';
import {
  escapePrelude,
  expectBystanderIntact,
  expectExactStream,
  expectNoMarker,
  markerPath,
  orProcessDeath,
  spawnServer,
  startBystander,
  type ServerProcess,
} from './helpers/adversary.js';
import { asArray, asObject, expectLogEntries, type ExpectedEntry, type JsonObject } from './helpers/expectations.js';
import { getResult, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import type { SseEvent } from './helpers/sse.js';

const LIMITS = { CHARIOT_THREADS: '1', CHARIOT_CPU_MS: '500', CHARIOT_WALL_MS: '3000', CHARIOT_MEMORY_MB: '32' };
const MESSAGE_LIMIT = 65536;

type Expected =
  | { readonly status: 'completed'; readonly value: Json; readonly type: string }
  | { readonly status: 'error'; readonly error: string };

interface Observed {
  readonly events: SseEvent[];
  readonly result: HttpResult;
  readonly body: JsonObject;
}

interface Attempt {
  readonly name: string;
  /** The attack; `escapePrelude(marker)` is put before it. */
  readonly body: string;
  readonly expected: Expected;
  /** The log, exactly (default: none). Ignored when `logs` is a function. */
  readonly logs?: readonly ExpectedEntry[] | ((observed: Observed) => void);
  /** Progress events on the stream, exactly (default: none). Ignored when `logs` is a function. */
  readonly progress?: readonly { percent: number; message: string }[];
  /** Runs against a server in a process of its own: the attack may take its process down. */
  readonly ownProcess?: true;
}

// A log batch or message parts array built by the host's code goes through Array.prototype.push,
// which stores index 0 with [[Set]]: an accessor on Array.prototype[0] sees (and can replace)
// what is pushed. `plant(replace)` installs one that swaps each pushed 4-tuple (a log entry as
// the isolate hands it to the host: [time, kind, text, percent]) for `replace(tuple)`.
const PLANT = `function plant(replace) {
  Object.defineProperty(Array.prototype, '0', {
    configurable: true,
    set(value) {
      const stored = Array.isArray(value) && value.length === 4 ? replace(value) : value;
      Object.defineProperty(this, '0', { value: stored, writable: true, enumerable: true, configurable: true });
    },
  });
}
function unplant() { delete Array.prototype[0]; }
`;

const WASM_CALLING_AN_IMPORT = // (module (import "env" "f" (func)) (func (export "run") call 0))
  '[0,97,115,109,1,0,0,0,1,4,1,96,0,0,2,9,1,3,101,110,118,1,102,0,0,3,2,1,0,7,7,1,3,114,117,110,0,1,10,6,1,4,0,16,0,11]';

const contained: Expected = { status: 'completed', value: 'contained', type: 'string' };

/**
 * Logs that must be exactly one of `alternatives`, on the stream and in the result alike. Used
 * where an attack plants values through Array.prototype[0] (see PLANT): a host code that no
 * longer stores with [[Set]] would make the planting a no-op, and the script's own entries
 * would then simply be delivered.
 */
function oneOf(...alternatives: (readonly ExpectedEntry[])[]): (observed: Observed) => void {
  return ({ events, body }) => {
    const logs = asArray(body.logs).map((entry) => {
      const { level, message } = asObject(entry);
      return { level, message };
    });
    const match = alternatives.find((alternative) => JSON.stringify(alternative) === JSON.stringify(logs));
    expect(match, `logs ${JSON.stringify(logs)} are one of ${JSON.stringify(alternatives)}`).to.not.equal(undefined);
    expectLogEntries(body.logs, match!);
    expectExactStream(events, match!, String(body.status));
  };
}

const ATTEMPTS: readonly Attempt[] = [
  {
    name: 'this.constructor.constructor from every global the host installs, what they return, and every global of the context',
    body: `const found = [this, globalThis, logPrint, console, console.log, console.error, progress, sleep, sleep(0),
      Object.getPrototypeOf(sleep(0)), logPrint.prototype, Object.getPrototypeOf(logPrint)];
    found.forEach((x, i) => pwn(x, 'installed #' + i));
    for (const key of Reflect.ownKeys(globalThis)) { try { pwn(globalThis[key], 'globalThis.' + String(key)); } catch {} }
    verdict()`,
    expected: contained,
  },
  {
    name: "this, arguments and argument values of the callbacks the host's code invokes (toJSON, valueOf, Symbol.toPrimitive, getters)",
    body: `const hooks = [];
    function grab(label, self, args) {
      hooks.push(label);
      pwn(self, label + ' this');
      pwn(args, label + ' arguments');
      for (const arg of args) pwn(arg, label + ' argument');
    }
    logPrint({ toJSON(key) { grab('logPrint toJSON', this, arguments); return 'logged'; } });
    progress({ [Symbol.toPrimitive](hint) { grab('progress toPrimitive', this, arguments); return 50; } },
      { toJSON() { grab('progress message toJSON', this, arguments); return 'half'; } });
    // 300 ms: a window for the test's subscriber, which connects after the submission, to see
    // the progress event (progress is state: it is not replayed once the execution has ended).
    await sleep({ valueOf() { grab('sleep valueOf', this, arguments); return 300; } });
    ({ get hooks() { grab('result getter', this, arguments); return hooks.join(', '); }, get verdict() { return verdict(); } })`,
    expected: {
      status: 'completed',
      value: { hooks: 'logPrint toJSON, progress toPrimitive, progress message toJSON, sleep valueOf, result getter', verdict: 'contained' },
      type: 'object',
    },
    logs: [{ level: 'INFO', message: '"logged"' }],
    progress: [{ percent: 50, message: '"half"' }],
  },
  {
    name: "arguments.callee.caller chains climbed from callbacks the host's code invokes, and the arguments of every frame",
    body: `function climb(label, fn) {
      for (const f of callers(fn)) {
        pwn(f, label + ' caller');
        let args;
        try { args = f.arguments; } catch { continue; }
        if (args) for (const arg of args) pwn(arg, label + ' caller argument');
      }
    }
    logPrint({ toJSON: function toJSON() { climb('logPrint', arguments.callee); return 1; } });
    ({ get v() { climb('result', Object.getOwnPropertyDescriptor(this, 'v').get); return verdict(); } })`,
    expected: { status: 'completed', value: { v: 'contained' }, type: 'object' },
    logs: [{ level: 'INFO', message: '1' }],
  },
  {
    // The host's code is compiled from source as a sloppy-mode script, so `caller` of a top-level
    // function is its entry point `run`: calling it settles the execution with a value of the
    // script's choosing while the script goes on (the service reports it completed, and frees
    // its slot, while it still computes). A strict-mode host code gives `null` here.
    name: 'Function.prototype.caller of a top-level function: the entry point of the host code must not be reachable',
    body: `function probe() { return probe.caller; }
    const leaked = probe();
    if (typeof leaked === 'function') {
      pwn(leaked, 'entry point');
      leaked('"settled by the leaked entry point"');
    }
    verdict()`,
    expected: contained,
  },
  {
    name: 'Function.prototype.caller and .arguments read on builtins, host functions and strict functions',
    body: `const probes = [];
    const reads = [
      ['Function.prototype.caller', () => Function.prototype.caller],
      ['Function.prototype.arguments', () => Function.prototype.arguments],
      ['logPrint.caller', () => logPrint.caller],
      ['logPrint.arguments', () => logPrint.arguments],
      ['sleep.caller', () => sleep.caller],
      ['strict arguments.callee', () => (function () { 'use strict'; return arguments.callee; })()],
    ];
    // Each read may give null (a sloppy function not running) or throw a TypeError (strict
    // functions, builtins): anything else is listed.
    for (const [label, read] of reads) {
      try { const v = read(); if (v !== null) probes.push(label + ': ' + typeof v); pwn(v, label); }
      catch (error) { if (!(error instanceof TypeError)) probes.push(label + ': ' + String(error)); }
    }
    [probes, verdict()]`,
    expected: { status: 'completed', value: [[], 'contained'], type: 'array' },
  },
  {
    name: 'Error.prepareStackTrace call sites of an exception raised while the host copies a callback argument (CVE-2022-36067, CVE-2023-29017)',
    body: `${PLANT}
    const sites = [];
    Error.prepareStackTrace = (error, callSites) => {
      for (const site of callSites) {
        for (const get of ['getThis', 'getFunction', 'getTypeName', 'getEvalOrigin', 'getFileName']) {
          try { const v = site[get](); if (v !== undefined && v !== null) pwn(v, 'call site ' + get); } catch {}
        }
        sites.push(String(site.getFunctionName()));
      }
      return 'stack replaced';
    };
    plant(() => Symbol('uncloneable'));
    let caught;
    try { logPrint('never delivered'); } catch (error) { caught = error; }
    unplant();
    pwn(caught, 'the exception');
    [String(caught), caught instanceof TypeError, caught.stack, verdict()]`,
    // The host appends to its batch with defineProperty, so the planted getter never runs:
    // nothing is thrown, the entry is delivered, and the probe trips over its own undefined.
    expected: { status: 'error', error: "TypeError: Cannot read properties of undefined (reading 'stack')" },
    logs: oneOf([{ level: 'INFO', message: 'never delivered' }]),
  },
  {
    name: 'a thrown object whose getters and toJSON run while the host formats the exception (CVE-2023-30547)',
    body: `throw {
      get name() { pwn(this, 'name getter'); return 'N'; },
      get message() { pwn(this, 'message getter'); return 'M'; },
      toJSON() {
        for (const f of callers(arguments.callee)) pwn(f, 'toJSON caller');
        pwn(this, 'toJSON this');
        return verdict();
      },
    }`,
    expected: { status: 'error', error: 'Uncaught "contained"' },
  },
  {
    name: 'a thrown Proxy passing a hijacked Symbol.hasInstance of Error, its traps run while the host formats it',
    body: `Object.defineProperty(Error, Symbol.hasInstance, { configurable: true, value(x) { pwn(x, 'hasInstance'); return true; } });
    throw new Proxy({}, {
      get(target, key, receiver) {
        guarded(() => { pwn(receiver, 'proxy receiver'); pwn(this, 'proxy handler'); });
        return key === 'name' ? 'Hijacked' : key === 'message' ? verdict() : undefined;
      },
    })`,
    expected: { status: 'error', error: 'Hijacked: contained' },
  },
  {
    name: 'a Proxy as the result, every trap trying the values it is given, with a nodejs.util.inspect.custom method (CVE-2023-32314)',
    body: `const handler = {};
    for (const trap of ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'defineProperty', 'set',
      'deleteProperty', 'isExtensible', 'preventExtensions', 'setPrototypeOf']) {
      handler[trap] = function (...args) {
        guarded(() => { for (const arg of args) pwn(arg, trap); pwn(this, trap + ' handler'); });
        return Reflect[trap](...args);
      };
    }
    const target = { v: 'contained', [Symbol.for('nodejs.util.inspect.custom')]() { pwn(arguments, 'inspect'); return 'ESCAPED'; } };
    new Proxy(target, handler)`,
    expected: { status: 'completed', value: { v: 'contained' }, type: 'object' },
  },
  {
    name: "Symbol.species on Promise: the host's then() builds the script's subclass and hands it its resolving functions (CVE-2023-37466)",
    body: `class Spy extends Promise {
      constructor(executor) {
        super((resolve, reject) => { pwn(resolve, 'resolve'); pwn(reject, 'reject'); executor(resolve, reject); });
        pwn(executor, 'executor');
        for (const f of callers(Spy)) pwn(f, 'species caller');
      }
    }
    Object.defineProperty(Promise, Symbol.species, { configurable: true, get() { return Spy; } });
    Promise.resolve().then(() => verdict())`,
    expected: contained,
  },
  {
    // The host reads a promise result with `then.call(promise, ...)`, whose SpeciesConstructor
    // runs the script's getter; its throw is the script's own error, and nothing is left
    // behind for the same user's next execution.
    name: "a Symbol.species getter that throws inside the host's then(): the script's error, the next execution clean",
    body: `Object.defineProperty(Promise, Symbol.species, { configurable: true, get() { throw new Error('species trap'); } });
    Promise.resolve(verdict())`,
    expected: { status: 'error', error: 'Error: species trap' },
  },
  {
    name: "Promise.prototype.then replaced by a spy: it sees the host's resolving functions, and nothing comes of it",
    body: `const nativeThen = Promise.prototype.then;
    Promise.prototype.then = function (onFulfilled, onRejected) {
      pwn(onFulfilled, 'onFulfilled');
      pwn(onRejected, 'onRejected');
      pwn(this, 'then this');
      return nativeThen.call(this, onFulfilled, onRejected);
    };
    Promise.resolve('x').then(() => verdict())`,
    expected: contained,
  },
  {
    // The host decides whether to await the result by reading `result.then`, which the script
    // controls: with Promise.prototype.then gone a promise is taken for a plain object ({}).
    // `await` (and so the contract's "a promise is awaited") does not depend on that property.
    name: 'Promise.prototype.then removed before the end: a promise result is still awaited',
    body: `const result = Promise.resolve(verdict());
    Promise.prototype.then = undefined;
    result`,
    expected: contained,
  },
  {
    name: "Object.prototype.then defined with __defineGetter__: the host's resolving functions handed to the script",
    body: `Object.prototype.__defineGetter__('then', function () {
      pwn(this, 'then getter this');
      return function (resolve, reject) {
        pwn(resolve, 'host resolve');
        pwn(reject, 'host reject');
        for (const f of callers(arguments.callee)) pwn(f, 'then caller');
        delete Object.prototype.then;
        resolve(verdict());
      };
    });
    ({ plain: true })`,
    expected: contained,
  },
  {
    name: '__proto__ of the global object replaced by a Proxy trapping every global lookup; Object.prototype.__proto__ assignment',
    body: `const trap = new Proxy(Object.getPrototypeOf(globalThis), {
      get(target, key, receiver) { pwn(receiver, 'global get'); return Reflect.get(target, key, receiver); },
      has(target, key) { pwn(target, 'global has'); return Reflect.has(target, key); },
    });
    globalThis.__proto__ = trap;
    let locked;
    try { Object.prototype.__proto__ = trap; locked = 'assigned'; } catch (error) { locked = String(error); }
    logPrint('still logging');
    await sleep(1);
    [locked, verdict()]`,
    expected: {
      status: 'completed',
      value: ["TypeError: Immutable prototype object 'Object.prototype' cannot have their prototype set", 'contained'],
      type: 'array',
    },
    logs: [{ level: 'INFO', message: 'still logging' }],
  },
  {
    name: 'accessors planted in the arrays the host code builds (log batch, message parts), run while the host copies them',
    body: `Object.defineProperty(Array.prototype, '0', {
      configurable: true,
      set(value) {
        if (busy) {
          Object.defineProperty(this, '0', { value, writable: true, enumerable: true, configurable: true });
          return;
        }
        guarded(() => {
          pwn(this, 'captured array');
          pwn(value, 'pushed value');
        });
        const getter = function () {
          guarded(() => { pwn(this, 'getter this'); for (const f of callers(getter)) pwn(f, 'getter caller'); });
          return value;
        };
        Object.defineProperty(this, '0', { configurable: true, enumerable: true, get: getter });
      },
    });
    logPrint('planted');
    delete Array.prototype[0];
    verdict()`,
    expected: contained,
    logs: [{ level: 'INFO', message: 'planted' }],
  },
  {
    // The worker takes any [number, 0..4, string, number] tuple from the isolate; the main
    // thread then calls new Date(time).toISOString() on a NaN time, which throws a RangeError
    // in Piscina's message listener: an uncaught exception that ends the whole server process.
    name: 'a log entry forged with a NaN timestamp: the server process survives, the entry is dropped or given a valid time',
    body: `${PLANT}
    plant((tuple) => [NaN, tuple[1], tuple[2], tuple[3]]);
    logPrint('forged');
    unplant();
    verdict()`,
    expected: contained,
    logs: ({ body }) => {
      const logs = asArray(body.logs);
      if (logs.length === 0) return; // dropped
      expectLogEntries(logs, [{ level: 'INFO', message: 'forged' }]); // kept, with a valid timestamp
    },
    ownProcess: true,
  },
  {
    // The 64 KiB cut is made inside the isolate; a tuple planted in the batch carries any text.
    name: 'a log entry forged past the message limit: no entry is ever longer than the limit and the cut marker',
    body: `${PLANT}
    plant((tuple) => [tuple[0], tuple[1], 'y'.repeat(200000), tuple[3]]);
    logPrint('short');
    unplant();
    verdict()`,
    expected: contained,
    // The host appends with defineProperty: the planted setter never sees the tuple.
    logs: oneOf([{ level: 'INFO', message: 'short' }]),
  },
  {
    // progress() clamps its percent inside the isolate; a planted tuple carries any number.
    name: 'a progress event forged at 5000 percent: every progress event on the stream stays within 0..100',
    body: `${PLANT}
    plant((tuple) => [tuple[0], tuple[1], 'forged', 5000]);
    progress(50, 'real');
    unplant();
    // 300 ms: a window for the test's subscriber to see the progress event, which is not
    // replayed to a subscriber that connects after the end.
    await sleep(300);
    verdict()`,
    expected: contained,
    logs: ({ events, body }) => {
      expect(asArray(body.logs)).to.eql([]);
      const progress = events.filter((event) => event.event === 'progress').map((event) => asObject(JSON.parse(event.data)));
      expect(progress.length, 'progress events seen').to.be.at.least(1);
      for (const data of progress) expect(data.percent, `progress ${JSON.stringify(data)}`).to.be.within(0, 100);
      expect(events.filter((event) => event.event !== 'progress').map((event) => event.event)).to.eql(['done']);
    },
  },
  {
    name: 'import() of node:fs, fs, node:child_process and a data: URL',
    body: `const outcomes = [];
    for (const specifier of ['node:fs', 'fs', 'node:child_process', 'data:text/javascript,export default 1']) {
      try {
        const mod = await import(specifier);
        const api = mod.default ?? mod;
        if (typeof api.writeFileSync === 'function') { api.writeFileSync(MARKER, 'import'); escaped.push('import'); }
        if (typeof api.execSync === 'function') { api.execSync('touch ' + MARKER); escaped.push('import'); }
        outcomes.push('loaded ' + specifier);
      } catch (error) { outcomes.push(String(error)); }
    }
    [outcomes, verdict()]`,
    expected: {
      status: 'completed',
      value: [['node:fs', 'fs', 'node:child_process', 'data:text/javascript,export default 1'].map((specifier) => `TypeError: Cannot import "${specifier}": programs here run without modules`), 'contained'],
      type: 'array',
    },
  },
  {
    name: 'WebAssembly: a module calling an imported function, which climbs its callers and tries its receiver',
    body: `let calls = 0;
    function f() { calls++; pwn(this, 'wasm this'); for (const c of callers(f)) pwn(c, 'wasm caller'); }
    const module = new WebAssembly.Module(new Uint8Array(${WASM_CALLING_AN_IMPORT}));
    const instance = new WebAssembly.Instance(module, { env: { f } });
    instance.exports.run();
    pwn(instance.exports.run, 'wasm export');
    pwn(module, 'wasm module');
    [calls, verdict()]`,
    // WebAssembly is not offered (its memory escapes the heap limit; docs/API.md).
    expected: { status: 'error', error: 'ReferenceError: WebAssembly is not defined' },
  },
  {
    name: 'SharedArrayBuffer and Atomics: a bounded wait, a notify, and a shared buffer planted in a log batch',
    body: `${PLANT}
    const shared = new Int32Array(new SharedArrayBuffer(16));
    const waited = Atomics.wait(shared, 0, 0, 20);
    const woken = Atomics.notify(shared, 0, 1);
    plant(() => shared.buffer);
    logPrint('shared');
    unplant();
    pwn(shared.buffer, 'shared buffer');
    [waited, woken, verdict()]`,
    // Neither is offered (docs/API.md): a program gets no shared memory, as a browser page
    // without cross-origin isolation.
    expected: { status: 'error', error: 'ReferenceError: SharedArrayBuffer is not defined' },
  },
  {
    name: 'eval and every Function constructor, in every form: indirect eval, Reflect.construct, bind, a with-scope Proxy',
    body: `const AsyncFunction = (async function () {}).constructor;
    const GeneratorFunction = (function* () {}).constructor;
    const AsyncGeneratorFunction = (async function* () {}).constructor;
    const seen = [
      Function('return typeof process')(),
      await AsyncFunction('return typeof process')(),
      GeneratorFunction('yield typeof process')().next().value,
      (await AsyncGeneratorFunction('yield typeof process')().next()).value,
      (0, eval)('typeof process'),
      eval('typeof require'),
      Reflect.construct(Function, ['return typeof process'])(),
      Function.prototype.bind.call(Function, null, 'return typeof module')()(),
      new Function('with (this) { return typeof process }').call(new Proxy({}, { has: () => false })),
    ];
    for (const F of [Function, AsyncFunction, GeneratorFunction, AsyncGeneratorFunction]) pwn(F, F.name);
    [seen, verdict()]`,
    expected: { status: 'completed', value: [Array.from({ length: 9 }, () => 'undefined'), 'contained'], type: 'array' },
  },
  {
    name: 'logPrint, console, sleep and progress replaced: the host keeps no reference to the globals, the originals still work',
    body: `const original = { logPrint, log: console.log, sleep };
    globalThis.logPrint = function () { pwn(arguments, 'fake logPrint'); };
    console = { log() {} };
    Object.defineProperty(globalThis, 'sleep', { configurable: true, get() { pwn(this, 'sleep getter'); return () => Promise.resolve(); } });
    progress = 'gone';
    logPrint('to the fake');
    console.log('to the fake console');
    original.logPrint('through the original');
    original.log('through the original console.log');
    await original.sleep(1);
    original.logPrint('after the original sleep');
    verdict()`,
    expected: contained,
    logs: [
      { level: 'INFO', message: 'through the original' },
      { level: 'INFO', message: 'through the original console.log' },
      { level: 'INFO', message: 'after the original sleep' },
    ],
  },
  {
    name: "JSON, Array.prototype.join/push, String.prototype.slice and Object.prototype.toString replaced before the host reads logs and result",
    body: `const calledByHost = [];
    const spy = (name, value) => function () { calledByHost.push(name); pwn(this, name); return value; };
    JSON.stringify = spy('JSON.stringify', '"forged"');
    JSON.parse = spy('JSON.parse', 'forged');
    Array.prototype.join = spy('join', 'forged');
    Array.prototype.push = spy('push', 0);
    String.prototype.slice = spy('slice', 'forged');
    Object.prototype.toString = spy('toString', 'forged');
    logPrint('a', 'b', { c: 1 });
    console.warn('x'.repeat(70000));
    ({ list: [1, 2], get calledByHost() { return calledByHost.length; }, verdict: verdict() })`,
    expected: { status: 'completed', value: { list: [1, 2], calledByHost: 0, verdict: 'contained' }, type: 'object' },
    logs: [
      { level: 'INFO', message: 'a b {"c":1}' },
      { level: 'WARN', message: `${'x'.repeat(MESSAGE_LIMIT)} … [message cut: ${70000 - MESSAGE_LIMIT} more characters]` },
    ],
  },
  {
    // logPrint walks its arguments with for...of, which uses the script's Array iterator.
    name: 'the Array iterator replaced before logging: logPrint still joins its own arguments',
    body: `const calledByHost = [];
    const values = Array.prototype[Symbol.iterator];
    Array.prototype[Symbol.iterator] = function () {
      if (busy) return values.call(this);
      guarded(() => { calledByHost.push('iterator'); pwn(this, 'iterator this'); });
      return values.call(['forged']);
    };
    logPrint('a', 'b');
    ({ calledByHost: calledByHost.length, verdict: verdict() })`,
    expected: { status: 'completed', value: { calledByHost: 0, verdict: 'contained' }, type: 'object' },
    logs: [{ level: 'INFO', message: 'a b' }],
  },
  {
    name: "Object.prototype getters named like the host's options (messageLimit, resultLimitChars, batchEntries, flushIntervalMs)",
    body: `for (const name of ['messageLimit', 'resultLimitChars', 'batchEntries', 'flushIntervalMs']) {
      Object.defineProperty(Object.prototype, name, { configurable: true, get() { pwn(this, name); return 1e9; } });
    }
    logPrint('z'.repeat(70000));
    verdict()`,
    expected: contained,
    logs: [{ level: 'INFO', message: `${'z'.repeat(MESSAGE_LIMIT)} … [message cut: ${70000 - MESSAGE_LIMIT} more characters]` }],
  },
  {
    name: 'the own properties of the functions the host installs hold nothing of the host',
    body: `const standard = ['length', 'name', 'arguments', 'caller', 'prototype'];
    const extra = [];
    for (const [name, fn] of Object.entries({ logPrint, sleep, progress, log: console.log, warn: console.warn })) {
      for (const key of Reflect.ownKeys(fn)) {
        if (!standard.includes(key)) extra.push(name + '.' + String(key));
        try { pwn(fn[key], name + '.' + String(key)); } catch {}
      }
      if (Object.getPrototypeOf(fn) !== Function.prototype) extra.push(name + ': a prototype of its own');
    }
    [extra, verdict()]`,
    expected: { status: 'completed', value: [[], 'contained'], type: 'array' },
  },
];

/** Runs one attempt as alice; then alice's next execution, which must be clean. */
async function attempt(alice: Client, item: Attempt, marker: string): Promise<{ observed: Observed; next: HttpResult }> {
  const id = await submit(alice, escapePrelude(marker) + item.body);
  const events = await streamToEnd(alice, id);
  const result = await getResult(alice, id);
  // Run before anything is asserted: an attempt that left something in alice's isolate must
  // not leak into the next test.
  const next = await alice.json('POST', '/api/execute', { program: 'logPrint("next"); 1+2' });
  return { observed: { events, result, body: asObject(result.body) }, next };
}

function expectOutcome(item: Attempt, { events, result, body }: Observed): void {
  const { expected } = item;
  if (expected.status === 'completed') {
    expect(result.status, result.text).to.equal(200);
    expect({ status: body.status, result: body.result }).to.eql({ status: 'completed', result: { value: expected.value, type: expected.type } });
  } else {
    expect(result.status, result.text).to.equal(500);
    expect({ status: body.status, error: body.error }).to.eql({ status: 'error', error: expected.error });
  }
  if (typeof item.logs === 'function') {
    item.logs({ events, result, body });
    return;
  }
  const logs = item.logs ?? [];
  expectLogEntries(body.logs, logs);
  const progress = events.filter((event) => event.event === 'progress').map((event) => JSON.parse(event.data) as Json);
  expect(progress, 'progress events').to.eql(item.progress ?? []);
  expectExactStream(events.filter((event) => event.event !== 'progress'), logs, expected.status);
}

function expectCleanNext(next: HttpResult): void {
  expect(next.status, `alice's next execution: ${next.text}`).to.equal(200);
  const body = asObject(next.body);
  expect(body.result).to.equal(3);
  expectLogEntries(body.logs, [{ level: 'INFO', message: 'next' }]);
}

describe('adversarial: sandbox escape attempts', function () {
  this.timeout(30_000);
  const server = useServer(LIMITS);
  let alice: Client;
  let bob: Client;

  before(async () => {
    [alice, bob] = await Promise.all([server.login('alice'), server.login('bob')]);
  });

  it(`has at least 20 distinct attempts (${ATTEMPTS.length})`, () => {
    expect(ATTEMPTS.length).to.be.at.least(20);
    expect(new Set(ATTEMPTS.map((item) => item.name)).size).to.equal(ATTEMPTS.length);
  });

  it('control: the payload does detect an escape (node:vm handed one host object: the marker is written)', () => {
    const marker = markerPath();
    try {
      const outcome = runInNewContext(`${escapePrelude(marker)} pwn(hostObject, 'node:vm'); verdict()`, { hostObject: {} }) as unknown;
      expect(outcome).to.equal('ESCAPED via node:vm');
      expect(readFileSync(marker, 'utf8')).to.equal('node:vm');
    } finally {
      rmSync(marker, { force: true });
    }
  });

  for (const item of ATTEMPTS) {
    it(item.ownProcess ? `${item.name} [own server process]` : item.name, async () => {
      const marker = markerPath();
      if (!item.ownProcess) {
        const { observed, next } = await attempt(alice, item, marker);
        expectNoMarker(marker);
        expectOutcome(item, observed);
        expectCleanNext(next);
        return;
      }
      let child: ServerProcess | undefined;
      try {
        child = await spawnServer(LIMITS);
        const [childAlice, childBob] = await Promise.all([child.login('alice'), child.login('bob')]);
        const { observed, next } = await orProcessDeath(child, attempt(childAlice, item, marker), 10_000, 'the attempt and the next execution');
        expectNoMarker(marker);
        expectOutcome(item, observed);
        expectCleanNext(next);
        const health = await orProcessDeath(child, child.login('carol').then((c) => c.json('GET', '/healthz')), 5000, '/healthz afterwards');
        expect(health.status).to.equal(200);
        const bobs = await orProcessDeath(child, childBob.json('POST', '/api/execute', { program: '1+2' }), 5000, "bob's 1+2 afterwards");
        expect(asObject(bobs.body).result).to.equal(3);
      } finally {
        await child?.kill();
        expectNoMarker(marker);
      }
    });
  }

  it("completes another user's execution, with its whole log stream, while every in-process attempt runs", async () => {
    const bystander = await startBystander(bob);
    // Bob's script is now in its sleep(50): alice's attempts start inside that window.
    const items = ATTEMPTS.filter((item) => !item.ownProcess);
    const markers = items.map(() => markerPath());
    const ids = await Promise.all(items.map((item, i) => submit(alice, escapePrelude(markers[i]!) + item.body)));
    await expectBystanderIntact(bob, bystander);
    const finals = await Promise.all(ids.map((id) => streamToEnd(alice, id)));
    for (const marker of markers) expectNoMarker(marker);
    expect(finals.map((events) => events.at(-1)?.event)).to.eql(items.map(() => 'done'));
  });
});
