import { expect } from 'chai';
import { totalmem } from 'node:os';
import { ConfigError, DEFAULTS, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('fills every default from an empty environment, with the development user', () => {
    const config = loadConfig({});
    expect(config).to.deep.include({
      port: 8087,
      host: '127.0.0.1',
      users: [{ username: 'admin', password: 'admin' }],
      usingDefaultUsers: true,
      tasksPerThread: DEFAULTS.tasksPerThread,
      spareIsolates: 2,
      maxQueue: 1000,
      maxPerUser: 64,
      quarantineLimit: 8,
      cpuMs: 10_000,
      wallMs: 60_000,
      memoryMb: 128,
      resultLimitBytes: 1024 * 1024,
      logBuffer: 1000,
      retentionMs: 300_000,
      bodyLimitBytes: 1024 * 1024,
      sseLagBudget: 64 * 1024 * 1024,
      ssePingMs: 15_000,
      sseRetryMs: 2000,
      redisUrl: undefined,
      production: false,
    });
    expect(config.threads).to.be.a('number').and.to.be.at.least(1);
    expect(config.sandboxMemoryMb, 'half the machine, and one isolate at its limit per thread').to.equal(Math.max(config.threads * 128, Math.floor(totalmem() / 2 / 1024 / 1024)));
    expect(config.sessionKeys).to.have.length(1);
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('parses users, sizes and numbers from the environment', () => {
    const config = loadConfig({
      PORT: '0',
      CHARIOT_USERS: 'alice:secret,bob:pa:ss',
      CHARIOT_BODY_LIMIT: '512kb',
      CHARIOT_SSE_LAG_BUDGET: '8mb',
      CHARIOT_THREADS: '3',
      CHARIOT_SPARE_ISOLATES: '0',
      CHARIOT_SANDBOX_MEMORY_MB: '384',
      CHARIOT_SSE_PING_MS: '50',
      CHARIOT_SSE_RETRY_MS: '0',
      CHARIOT_SESSION_KEYS: 'a-key-of-sixteen-chars,another-long-enough-key',
    });
    expect(config.port).to.equal(0);
    expect(config.users).to.deep.equal([{ username: 'alice', password: 'secret' }, { username: 'bob', password: 'pa:ss' }]);
    expect(config.usingDefaultUsers).to.equal(false);
    expect(config.bodyLimitBytes).to.equal(512 * 1024);
    expect(config.sseLagBudget).to.equal(8 * 1024 * 1024);
    expect(config.threads).to.equal(3);
    expect(config.spareIsolates).to.equal(0);
    expect(config.sandboxMemoryMb).to.equal(384);
    expect({ ssePingMs: config.ssePingMs, sseRetryMs: config.sseRetryMs }).to.eql({ ssePingMs: 50, sseRetryMs: 0 });
    expect(config.sessionKeys).to.deep.equal(['a-key-of-sixteen-chars', 'another-long-enough-key']);
  });

  const bad: ReadonlyArray<[Record<string, string>, string]> = [
    [{ PORT: 'eighty' }, 'PORT must be a whole number, got "eighty"'],
    [{ PORT: '70000' }, 'PORT must be between 0 and 65535, got 70000'],
    [{ CHARIOT_THREADS: '0' }, 'CHARIOT_THREADS must be between 1 and 256, got 0'],
    [{ CHARIOT_THREADS: '2', CHARIOT_SANDBOX_MEMORY_MB: '200' }, 'CHARIOT_SANDBOX_MEMORY_MB must be at least CHARIOT_MEMORY_MB × CHARIOT_THREADS (128 × 2 = 256), got 200'],
    [{ CHARIOT_SPARE_ISOLATES: '65' }, 'CHARIOT_SPARE_ISOLATES must be between 0 and 64, got 65'],
    [{ CHARIOT_QUARANTINE_LIMIT: '0' }, 'CHARIOT_QUARANTINE_LIMIT must be between 1 and 1000, got 0'],
    [{ CHARIOT_CPU_MS: '-5' }, 'CHARIOT_CPU_MS must be a whole number, got "-5"'],
    [{ CHARIOT_BODY_LIMIT: 'lots' }, 'CHARIOT_BODY_LIMIT must be a size such as 1mb, 512kb or 1048576, got "lots"'],
    [{ CHARIOT_SSE_LAG_BUDGET: '8 megs' }, 'CHARIOT_SSE_LAG_BUDGET must be a size such as 1mb, 512kb or 1048576, got "8 megs"'],
    [{ CHARIOT_USERS: 'nopassword' }, 'CHARIOT_USERS must be name:password pairs separated by commas'],
    [{ CHARIOT_USERS: 'a:1,a:2' }, 'CHARIOT_USERS names "a" twice'],
    [{ CHARIOT_SESSION_KEYS: 'short' }, 'CHARIOT_SESSION_KEYS must hold keys of at least 16 characters'],
    [{ CHARIOT_SSE_PING_MS: '5' }, 'CHARIOT_SSE_PING_MS must be between 10 and 9007199254740991, got 5'],
    [{ CHARIOT_SSE_RETRY_MS: '2s' }, 'CHARIOT_SSE_RETRY_MS must be a whole number, got "2s"'],
    [{ CHARIOT_SSE_RETRY_MS: '3600001' }, 'CHARIOT_SSE_RETRY_MS must be between 0 and 3600000, got 3600001'],
    [{ CHARIOT_REDIS_URL: 'http://x' }, 'CHARIOT_REDIS_URL must start with redis:// or rediss://, got "http://x"'],
    [{ NODE_ENV: 'production' }, 'NODE_ENV=production refuses the development default user admin/admin: set CHARIOT_USERS'],
  ];
  for (const [env, message] of bad) {
    it(`refuses ${JSON.stringify(env)} with a message naming the variable`, () => {
      expect(() => loadConfig(env)).to.throw(ConfigError, message);
    });
  }

  it('starts in production when users are configured', () => {
    expect(loadConfig({ NODE_ENV: 'production', CHARIOT_USERS: 'ops:long-password' }).production).to.equal(true);
  });
});
