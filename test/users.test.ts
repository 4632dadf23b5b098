// UserDirectory: scrypt-hashed passwords, checked within a bound on hashes at once and
// waiting (the rest refused with LoginBusyError), so that logins cannot take the thread pool.
import { expect } from 'chai';
import { LoginBusyError } from '../src/errors.js';
import { UserDirectory } from '../src/users.js';

describe('UserDirectory', () => {
  it('checks passwords: the right one, a wrong one, an unknown user', async () => {
    const users = await UserDirectory.create([{ username: 'alice', password: 'alice-pw' }]);
    expect(await users.verify('alice', 'alice-pw')).to.equal(true);
    expect(await users.verify('alice', 'ALICE-PW')).to.equal(false);
    expect(await users.verify('mallory', 'alice-pw')).to.equal(false);
    expect([users.has('alice'), users.has('mallory'), users.size]).to.eql([true, false, 1]);
  });

  for (const concurrency of [1, 2]) {
    it(`hashes ${concurrency} at a time with 3 waiting, refuses the 4th waiting at once with LoginBusyError, and serves the waiting in turn`, async () => {
      const users = await UserDirectory.create([{ username: 'alice', password: 'alice-pw' }], { concurrency, queue: 3 });
      const admitted = concurrency + 3;
      const seen: Array<{ running: number; waiting: number }> = [];
      const attempts = Array.from({ length: 10 }, (_, i) => users.verify('alice', i === 0 ? 'alice-pw' : `wrong-${i}`).then(
        (valid) => {
          seen.push(users.hashes);
          return valid;
        },
        (error: unknown) => error,
      ));
      expect(users.hashes).to.eql({ running: concurrency, waiting: 3 });
      const outcomes = await Promise.all(attempts);
      expect(outcomes.slice(0, admitted)).to.eql([true, ...Array<boolean>(admitted - 1).fill(false)]);
      for (const refused of outcomes.slice(admitted)) {
        expect(refused).to.be.instanceOf(LoginBusyError);
        expect(refused).to.include({ status: 503, code: 'LOGIN_BUSY' });
        expect((refused as LoginBusyError).headers).to.eql({ 'Retry-After': '1' });
      }
      for (const stats of seen) expect(stats.running, JSON.stringify(seen)).to.be.at.most(concurrency);
      expect(users.hashes).to.eql({ running: 0, waiting: 0 });
    });
  }
});
