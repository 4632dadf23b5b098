import { expect } from 'chai';
import { QueueFullError } from '../src/errors.js';
import { Scheduler } from '../src/scheduler.js';

interface Job {
  readonly owner: string;
  readonly name: string;
}

/** A scheduler whose started jobs stay running until `finish(name)` is called. */
function harness(capacity: number, maxQueue: number) {
  const started: string[] = [];
  const running = new Map<string, () => void>();
  const scheduler = new Scheduler<Job>({ capacity, maxQueue }, (job) => {
    started.push(job.name);
    return new Promise<void>((resolve) => running.set(job.name, resolve));
  });
  const finish = async (name: string): Promise<void> => {
    running.get(name)?.();
    running.delete(name);
    // The slot is freed in a .finally() callback: let it run.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { scheduler, started, finish };
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
});
