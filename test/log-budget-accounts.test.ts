// LogBudget over real LogBuffers, without a server: after every append the budgets hold, the
// numbers it reports are the sums of what the logs keep, and a running execution gave up
// entries only when nothing finished was left to give.
import { expect } from 'chai';
import { LogBudget } from '../src/log-budget.js';
import { LogBuffer, type LogRecord } from '../src/log-buffer.js';
import { seededRandom } from './helpers/random.js';

interface Log {
  readonly owner: string;
  readonly buffer: LogBuffer;
  readonly account: ReturnType<LogBudget['open']>;
  appended: number;
}

describe('LogBudget', () => {
  it('closes the accounts of a user in any order, one that kept nothing after one that kept entries too', () => {
    const budget = new LogBudget({ total: 1_000_000, perUser: 500_000 });
    const silent = budget.open('alice');
    const talkative = budget.open('alice');
    const buffer = new LogBuffer(10, Number.POSITIVE_INFINITY, talkative);
    talkative.attach(buffer);
    buffer.append([{ time: 0, level: 'INFO', message: 'kept' }]);
    silent.finish();
    talkative.finish();
    talkative.close();
    // The silent one was in no set: closing it after the user's last counted account is a no-op.
    expect(() => silent.close()).to.not.throw();
    expect(budget.stats).to.deep.include({ kept_bytes: 0, live_bytes: 0, largest_user_bytes: 0 });
    // And the user starts afresh.
    const next = budget.open('alice');
    next.resize(424);
    expect(budget.stats).to.deep.include({ kept_bytes: 424, live_bytes: 424, largest_user_bytes: 424 });
  });

  it('keeps every user within theirs and everyone within the total, through 3,000 random appends and ends', () => {
    const perUser = 20_000;
    const total = 45_000;
    const budget = new LogBudget({ total, perUser });
    const owners = ['alice', 'bob', 'carol'];
    const random = seededRandom(11);
    const logs: Log[] = [];
    const open = (): Log => {
      const owner = owners[random(owners.length)]!;
      const account = budget.open(owner);
      const buffer = new LogBuffer(50, Number.POSITIVE_INFINITY, account);
      account.attach(buffer);
      const log = { owner, buffer, account, appended: 0 };
      logs.push(log);
      return log;
    };
    for (let i = 0; i < 6; i++) open();
    const kept = (of: readonly Log[]): number => of.reduce((sum, log) => sum + log.buffer.keptBytes, 0);
    let evictedFromLive = 0;
    for (let round = 0; round < 3000; round++) {
      const live = logs.filter((log) => log.account.live);
      const log = live[random(live.length)] ?? open();
      const finishedBefore = new Map(logs.filter((other) => !other.account.live).map((other) => [other, other.buffer.keptBytes]));
      const liveBefore = new Map(live.map((other) => [other, other.buffer.keptBytes]));
      const count = 1 + random(4);
      const records: LogRecord[] = Array.from({ length: count }, (_, i) => ({ time: 0, level: 'INFO', message: 'x'.repeat(random(2000)) + String(log.appended + i) }));
      log.appended += count;
      log.buffer.append(records);
      const ownLogs = logs.filter((other) => other.owner === log.owner);
      expect(kept(ownLogs), `${log.owner} after append ${round}`).to.be.at.most(perUser);
      expect(kept(logs), `everyone after append ${round}`).to.be.at.most(total);
      // A running log other than the appender lost entries: nothing finished had any left, of
      // the same user (their budget, or the total), or of anyone (another user's: the total).
      for (const [other, before] of liveBefore) {
        if (other === log || other.buffer.keptBytes >= before) continue;
        evictedFromLive++;
        for (const finished of finishedBefore.keys()) {
          if (other.owner !== log.owner || finished.owner === log.owner) {
            expect(finished.buffer.keptBytes, `a finished log kept entries while a running one gave some up (round ${round})`).to.equal(0);
          }
        }
      }
      const stats = budget.stats;
      const largest = Math.max(0, ...owners.map((owner) => kept(logs.filter((other) => other.owner === owner))));
      expect(stats, `stats after append ${round}`).to.eql({
        kept_bytes: kept(logs),
        live_bytes: kept(logs.filter((other) => other.account.live)),
        budget_bytes: total,
        user_budget_bytes: perUser,
        largest_user_bytes: largest,
        evicted_entries: stats.evicted_entries,
      });
      if (random(10) === 0) log.account.finish();
      if (random(40) === 0) {
        const forgotten = logs.find((other) => !other.account.live);
        if (forgotten !== undefined) {
          forgotten.buffer.evictOldest(Number.POSITIVE_INFINITY);
          forgotten.account.close();
          logs.splice(logs.indexOf(forgotten), 1);
        }
      }
      if (random(8) === 0) open();
    }
    expect(budget.stats.evicted_entries, 'entries evicted').to.be.above(1000);
    expect(evictedFromLive, 'rounds in which another running log gave up entries').to.be.above(10);
  });
});
