import { expect } from 'chai';
import { QueueFullError, QueueWaitError } from '../src/errors.js';
import { RunPace } from '../src/run-pace.js';
import { Scheduler } from '../src/scheduler.js';

interface Job {
  readonly owner: string;
  readonly name: string;
}

/** A scheduler whose started jobs stay running until `finish(name)` is called. */
function harness(capacity: number, maxQueue: number, options: { maxWaitMs?: number; pace?: RunPace } = {}) {
  const started: string[] = [];
  const expired: string[] = [];
  const running = new Map<string, () => void>();
  const scheduler = new Scheduler<Job>(
    { capacity, maxQueue, maxWaitMs: options.maxWaitMs ?? 60_000, ...(options.pace === undefined ? {} : { pace: options.pace }) },
    (job) => {
      started.push(job.name);
      return new Promise<void>((resolve) => running.set(job.name, resolve));
    },
    (job) => expired.push(job.name),
  );
  const finish = async (name: string): Promise<void> => {
    running.get(name)?.();
    running.delete(name);
    // The slot is freed in a .finally() callback: let it run.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { scheduler, started, expired, finish };
}

describe('Scheduler', () => {
  it('starts jobs at once while there is capacity', () => {
    const { scheduler, started } = harness(2, 10);
    scheduler.submit({ owner: 'a', name: 'a1' });
    scheduler.submit({ owner: 'a', name: 'a2' });
    scheduler.submit({ owner: 'a', name: 'a3' });
    expect(started).to.deep.equal(['a1', 'a2']);
    expect(scheduler.running).to.equal(2);
    expect(scheduler.queued).to.equal(1);
  });

  it('gives free slots to owners in turn, so a flood does not starve another owner', async () => {
    const { scheduler, started, finish } = harness(1, 100);
    for (let i = 1; i <= 5; i++) scheduler.submit({ owner: 'flood', name: `f${i}` });
    scheduler.submit({ owner: 'other', name: 'o1' });
    expect(started).to.deep.equal(['f1']);
    await finish('f1');
    expect(started).to.deep.equal(['f1', 'f2']);
    await finish('f2');
    expect(started).to.deep.equal(['f1', 'f2', 'o1']);
    await finish('o1');
    expect(started).to.deep.equal(['f1', 'f2', 'o1', 'f3']);
  });

  it('refuses a job that would wait in a full queue, keeping nothing of it', () => {
    const { scheduler, started } = harness(1, 1);
    scheduler.submit({ owner: 'a', name: 'a1' });
    scheduler.submit({ owner: 'a', name: 'a2' });
    expect(() => scheduler.submit({ owner: 'b', name: 'b1' })).to.throw(QueueFullError, 'The execution queue is full (1 waiting); try again later');
    expect(scheduler.queued).to.equal(1);
    expect(started).to.deep.equal(['a1']);
  });

  it('removes a waiting job so that it never starts', async () => {
    const { scheduler, started, finish } = harness(1, 10);
    const waiting = { owner: 'a', name: 'a2' };
    scheduler.submit({ owner: 'a', name: 'a1' });
    scheduler.submit(waiting);
    expect(scheduler.remove(waiting)).to.equal(true);
    expect(scheduler.remove(waiting)).to.equal(false);
    await finish('a1');
    expect(started).to.deep.equal(['a1']);
    expect(scheduler.running).to.equal(0);
  });

  it('predicts the wait from the runs ahead in turn order and the pace of the slots, and refuses one over the limit', () => {
    // Runs hold their slot 100 ms on average; one slot.
    const pace = new RunPace();
    pace.record(100);
    const { scheduler, started } = harness(1, 100, { maxWaitMs: 500, pace });
    scheduler.submit({ owner: 'flood', name: 'f0' });
    for (let i = 1; i <= 4; i++) scheduler.submit({ owner: 'flood', name: `f${i}` });
    // The flood's next would be fifth in line; another owner's would be second (one turn of the flood first).
    expect({ flood: scheduler.predictedWaitMs('flood'), other: scheduler.predictedWaitMs('other') }).to.eql({ flood: 500, other: 200 });
    scheduler.submit({ owner: 'flood', name: 'f5' });
    let refusal: unknown;
    try {
      scheduler.submit({ owner: 'flood', name: 'f6' });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).to.be.instanceOf(QueueWaitError);
    const error = refusal as QueueWaitError;
    expect({ message: error.message, status: error.status, code: error.code, headers: error.headers }).to.eql({
      message: 'The predicted wait for a slot (600 ms) is over CHARIOT_MAX_QUEUE_WAIT_MS (500 ms); try again later',
      status: 503,
      code: 'QUEUE_WAIT',
      headers: { 'Retry-After': '1' },
    });
    // Another owner still gets in, behind one turn of the flood.
    scheduler.submit({ owner: 'other', name: 'o1' });
    expect({ started, queued: scheduler.queued }).to.eql({ started: ['f0'], queued: 6 });
  });

  it('says Retry-After as the seconds until the wait ahead would have shrunk to the limit', () => {
    const pace = new RunPace();
    pace.record(1000);
    const { scheduler } = harness(1, 100, { maxWaitMs: 1000, pace });
    for (let i = 0; i < 2; i++) scheduler.submit({ owner: 'a', name: `a${i}` });
    // One running, one waiting: a third would wait 2000 ms, 1000 ms over.
    expect(() => scheduler.submit({ owner: 'a', name: 'a2' })).to.throw(QueueWaitError).with.property('headers').that.eql({ 'Retry-After': '1' });
    const slower = new RunPace();
    slower.record(2500);
    const second = harness(1, 100, { maxWaitMs: 1000, pace: slower }).scheduler;
    second.submit({ owner: 'a', name: 'a0' });
    // Second in line at 2500 ms a run: 2500 ms, 1500 ms over: come back in 2 s.
    expect(() => second.submit({ owner: 'a', name: 'a1' })).to.throw(QueueWaitError).with.property('headers').that.eql({ 'Retry-After': '2' });
  });

  it('admits anything while no run has ended yet (nothing to predict from), up to the queue limit', () => {
    const { scheduler } = harness(1, 3, { maxWaitMs: 100 });
    for (let i = 0; i < 4; i++) scheduler.submit({ owner: 'a', name: `a${i}` });
    expect(scheduler.predictedWaitMs('a')).to.equal(0);
    expect(() => scheduler.submit({ owner: 'a', name: 'a4' })).to.throw(QueueFullError);
  });

  it('takes a job that waited the limit out of the queue and says so, and it never starts', async () => {
    const { scheduler, started, expired, finish } = harness(1, 10, { maxWaitMs: 50 });
    scheduler.submit({ owner: 'a', name: 'a1' });
    scheduler.submit({ owner: 'a', name: 'a2' });
    scheduler.submit({ owner: 'b', name: 'b1' });
    for (let i = 0; i < 200 && expired.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect({ expired, queued: scheduler.queued }).to.eql({ expired: ['a2', 'b1'], queued: 0 });
    await finish('a1');
    expect({ started, running: scheduler.running }).to.eql({ started: ['a1'], running: 0 });
  });
});
