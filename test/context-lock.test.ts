// The process's context lock (worker/context-lock.ts), between real worker threads sharing one
// SharedArrayBuffer word as the pool's workers do: makers (isolates and contexts made) never
// wait for one another, not even for one stuck inside; a taker (a thread switching V8's
// --expose-gc flag on) has it alone, waits for the makers inside, makes new ones wait, and gives
// up when a maker never leaves, after which makers go on.
import { expect } from 'chai';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

const LOCK_MODULE = new URL('../worker/context-lock.js', import.meta.url).href;

/** What a thread does: `make` or `take` holding the lock, in either case blocked inside until `release[slot]` is set. */
type Role = { readonly as: 'maker' | 'taker'; readonly slot: number };

interface Shared {
  readonly contextLock: SharedArrayBuffer;
  /** One Int32 per slot: 0 blocks the thread inside the lock, 1 lets it leave. */
  readonly release: SharedArrayBuffer;
  /** One Int32 per slot: set to 1 once the thread is inside. */
  readonly inside: SharedArrayBuffer;
}

const SLOTS = 4;

function shared(): Shared {
  return {
    contextLock: new SharedArrayBuffer(4),
    release: new SharedArrayBuffer(4 * SLOTS),
    inside: new SharedArrayBuffer(4 * SLOTS),
  };
}

/** A worker thread that takes the lock as `role` and posts what it got ('made', 'taken' or 'gave up'). */
function start(memory: Shared, role: Role): { readonly worker: Worker; readonly answer: Promise<string> } {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.module).then(({ holdingContextLock, aloneWithContextLock }) => {
      const inside = new Int32Array(workerData.inside);
      const release = new Int32Array(workerData.release);
      const slot = workerData.role.slot;
      const body = () => {
        Atomics.store(inside, slot, 1);
        Atomics.notify(inside, slot);
        while (Atomics.load(release, slot) === 0) Atomics.wait(release, slot, 0, 50);
        return workerData.role.as === 'maker' ? 'made' : 'taken';
      };
      const got = workerData.role.as === 'maker' ? holdingContextLock(body) : aloneWithContextLock(body);
      parentPort.postMessage(got ?? 'gave up');
    });`;
  const worker = new Worker(source, { eval: true, workerData: { ...memory, module: LOCK_MODULE, role } });
  const answer = once(worker, 'message').then(([message]) => message as string);
  return { worker, answer };
}

function isInside(memory: Shared, slot: number): boolean {
  return Atomics.load(new Int32Array(memory.inside), slot) === 1;
}

async function untilInside(memory: Shared, slot: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!isInside(memory, slot)) {
    if (Date.now() > deadline) throw new Error(`the thread of slot ${slot} did not get inside the lock`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function let_(memory: Shared, slot: number): void {
  const release = new Int32Array(memory.release);
  Atomics.store(release, slot, 1);
  Atomics.notify(release, slot);
}

describe('the context lock between worker threads (worker/context-lock.ts)', function () {
  this.timeout(30_000);
  const workers: Worker[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
  });

  function run(memory: Shared, role: Role): Promise<string> {
    const { worker, answer } = start(memory, role);
    workers.push(worker);
    return answer;
  }

  it('lets a maker in while another maker is inside, and stuck there', async () => {
    const memory = shared();
    const stuck = run(memory, { as: 'maker', slot: 0 });
    await untilInside(memory, 0);
    let_(memory, 1);
    expect(await run(memory, { as: 'maker', slot: 1 })).to.equal('made');
    expect(isInside(memory, 0)).to.equal(true);
    let_(memory, 0);
    expect(await stuck).to.equal('made');
  });

  it('gives a taker the lock once the makers inside have left, and keeps a new maker out until it is done', async () => {
    const memory = shared();
    const maker = run(memory, { as: 'maker', slot: 0 });
    await untilInside(memory, 0);
    const taker = run(memory, { as: 'taker', slot: 1 });
    // The taker waits for the maker inside; let the maker leave, and the taker is in.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isInside(memory, 1)).to.equal(false);
    let_(memory, 0);
    expect(await maker).to.equal('made');
    await untilInside(memory, 1);
    // A maker now waits for the taker.
    let_(memory, 2);
    const late = run(memory, { as: 'maker', slot: 2 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(isInside(memory, 2)).to.equal(false);
    let_(memory, 1);
    expect(await taker).to.equal('taken');
    expect(await late).to.equal('made');
    expect(isInside(memory, 2)).to.equal(true);
  });

  it('makes a taker give up when a maker never leaves, and lets makers in again after it', async () => {
    const memory = shared();
    void run(memory, { as: 'maker', slot: 0 });
    await untilInside(memory, 0);
    expect(await run(memory, { as: 'taker', slot: 1 })).to.equal('gave up');
    expect(isInside(memory, 1)).to.equal(false);
    let_(memory, 2);
    expect(await run(memory, { as: 'maker', slot: 2 })).to.equal('made');
  });
});
