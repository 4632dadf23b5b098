// The Redis the scale-out tests start (test/helpers/redis.ts), checked on its own first: a
// scale-out test that finds its data gone after a restart must be able to blame the server, not
// the helper. So: it runs with the persistence the helper promises (append-only file, fsync on
// every write, no RDB snapshots, no eviction); a key survives stop() and start() (SIGTERM flushes
// the AOF) and kill() and start() (appendfsync always: on disk before the reply); stopped, it
// refuses connections; close() deletes its data. Replies are asserted as raw RESP, byte for byte.
import { expect } from 'chai';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { redisCommand, startRedis, useRedis } from './helpers/redis.js';

const refused = (port: number): string => `redis PING on port ${port}: connect ECONNREFUSED 127.0.0.1:${port}`;

/** The message `promise` rejects with (or what it resolved with, for the assertion to show). */
function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then((value) => `resolved with ${JSON.stringify(value)}`, (error: unknown) => (error as Error).message);
}

describe('test/helpers/redis.ts: a redis-server of the test\'s own', function () {
  this.timeout(30_000);
  const redis = useRedis();

  it('listens on 127.0.0.1 at its url, empty, with its data in its own directory, AOF fsynced always, no snapshots, no eviction', async () => {
    const { port, dir } = redis.process;
    expect(redis.url).to.equal(`redis://127.0.0.1:${port}`);
    expect(await redisCommand(port, 'PING')).to.equal('+PONG\r\n');
    expect(await redisCommand(port, 'DBSIZE')).to.equal(':0\r\n');
    expect(await redisCommand(port, 'CONFIG', 'GET', 'appendonly')).to.equal('*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n');
    expect(await redisCommand(port, 'CONFIG', 'GET', 'appendfsync')).to.equal('*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n');
    expect(await redisCommand(port, 'CONFIG', 'GET', 'save')).to.equal('*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
    expect(await redisCommand(port, 'CONFIG', 'GET', 'maxmemory-policy')).to.equal('*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n');
    const real = realpathSync(dir);
    expect(await redisCommand(port, 'CONFIG', 'GET', 'dir')).to.equal(`*2\r\n$3\r\ndir\r\n$${Buffer.byteLength(real)}\r\n${real}\r\n`);
    expect(existsSync(join(dir, 'appendonlydir')), 'appendonlydir/ in the data directory').to.equal(true);
    expect(existsSync(join(dir, 'redis.log')), 'redis.log in the data directory').to.equal(true);
  });

  it('sends arguments by their length in bytes, and returns error replies as replies', async () => {
    const { port } = redis.process;
    expect(await redisCommand(port, 'SET', 'clé', 'été ✓')).to.equal('+OK\r\n');
    expect(await redisCommand(port, 'GET', 'clé')).to.equal('$9\r\nété ✓\r\n');
    expect(await redisCommand(port, 'GET', 'absent')).to.equal('$-1\r\n');
    expect(await redisCommand(port, 'DEL', 'clé')).to.equal(':1\r\n');
    expect(await redisCommand(port, 'NO-SUCH-COMMAND')).to.equal("-ERR unknown command 'NO-SUCH-COMMAND', with args beginning with: \r\n");
  });

  it('keeps a key across stop() and start(): SIGTERM flushes the append-only file', async () => {
    const { port } = redis.process;
    expect(await redisCommand(port, 'SET', 'k', 'v')).to.equal('+OK\r\n');
    await redis.process.stop();
    expect(await failure(redisCommand(port, 'PING'))).to.equal(refused(port));
    await redis.process.stop(); // idempotent
    await redis.process.start();
    expect(await redisCommand(port, 'GET', 'k')).to.equal('$1\r\nv\r\n');
    expect(await redisCommand(port, 'DBSIZE')).to.equal(':1\r\n');
  });

  it('keeps a key across kill() and start(): with appendfsync always it is on disk before the reply', async () => {
    const { port } = redis.process;
    expect(await redisCommand(port, 'SET', 'k2', 'v2')).to.equal('+OK\r\n');
    await redis.process.kill();
    expect(await failure(redisCommand(port, 'PING'))).to.equal(refused(port));
    await redis.process.start();
    expect(await redisCommand(port, 'GET', 'k2')).to.equal('$2\r\nv2\r\n');
    expect(await redisCommand(port, 'GET', 'k')).to.equal('$1\r\nv\r\n');
    expect(await redisCommand(port, 'DBSIZE')).to.equal(':2\r\n');
  });

  it('refuses start() while it runs, and keeps running', async () => {
    const { port } = redis.process;
    expect(await failure(redis.process.start())).to.equal(`redis-server on port ${port} is already running`);
    expect(await redisCommand(port, 'GET', 'k')).to.equal('$1\r\nv\r\n');
  });
});

describe('test/helpers/redis.ts: close()', function () {
  this.timeout(30_000);

  it('stops it and deletes its data directory; a second close() does nothing', async () => {
    const redis = await startRedis();
    expect(await redisCommand(redis.port, 'SET', 'k', 'v')).to.equal('+OK\r\n');
    expect(existsSync(redis.dir), 'the data directory before close()').to.equal(true);
    await redis.close();
    expect(existsSync(redis.dir), 'the data directory after close()').to.equal(false);
    expect(await failure(redisCommand(redis.port, 'PING'))).to.equal(refused(redis.port));
    await redis.close();
    expect(await failure(redis.start())).to.equal('redis-server: start() after close()');
  });

  it('gives each startRedis() a port and a directory of its own', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    try {
      expect(a.port).to.not.equal(b.port);
      expect(a.dir).to.not.equal(b.dir);
      expect(await redisCommand(a.port, 'SET', 'only-a', '1')).to.equal('+OK\r\n');
      expect(await redisCommand(b.port, 'GET', 'only-a')).to.equal('$-1\r\n');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
