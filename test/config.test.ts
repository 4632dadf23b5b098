import { expect } from 'chai';
import { hostname, totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { ConfigError, DEFAULTS, loadConfig, type Config } from '../src/config.js';
import { spawnRefused } from './helpers/adversary.js';
import { asObject } from './helpers/expectations.js';
import { doneStatus, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

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
      maxQueueWaitMs: 5000,
      maxPerUser: 64,
      inputMaxQueued: 100,
      inputMaxBytes: 1024 * 1024,
      maxStreamsPerUser: 64,
      quarantineLimit: 8,
      quarantinePerUser: 2,
      quarantineCooldownMs: 600_000,
      drainMs: 30_000,
      threadStallMs: 10_000,
      workerNice: 10,
      walkGuards: false,
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
      sseStallTimeoutMs: 60_000,
      wsMaxMessageBytes: 1024 * 1024,
      wsMaxUnreadBytes: 1024 * 1024,
      redisUrl: undefined,
      instanceId: `${hostname()}-${process.pid}`,
      production: false,
    });
    expect(config.threads).to.be.a('number').and.to.be.at.least(1);
    expect(config.sandboxMemoryMb, 'half the machine, and one isolate at its limit per thread').to.equal(Math.max(config.threads * 128, Math.floor(totalmem() / 2 / 1024 / 1024)));
    expect(config.sessionKeys).to.have.length(1);
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('budgets kept log at a quarter of the main thread\'s heap limit (at most 1 GiB), and a quarter of that per user', () => {
    const config = loadConfig({});
    const budget = Math.min(1024 * 1024 * 1024, Math.floor(getHeapStatistics().heap_size_limit / 4));
    expect({ total: config.logBudget, perUser: config.logBudgetPerUser }).to.eql({ total: budget, perUser: Math.floor(budget / 4) });
    expect(loadConfig({ CHARIOT_LOG_BUDGET: '64mb' })).to.deep.include({ logBudget: 64 * 1024 * 1024, logBudgetPerUser: 16 * 1024 * 1024 });
    expect(loadConfig({ CHARIOT_LOG_BUDGET: '128kb' })).to.deep.include({ logBudget: 128 * 1024, logBudgetPerUser: 64 * 1024 });
    expect(loadConfig({ CHARIOT_LOG_BUDGET: '64mb', CHARIOT_LOG_BUDGET_PER_USER: '1gb' })).to.deep.include({ logBudget: 64 * 1024 * 1024, logBudgetPerUser: 1024 * 1024 * 1024 });
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
      CHARIOT_SSE_STALL_TIMEOUT_MS: '1500',
      CHARIOT_MAX_STREAMS_PER_USER: '3',
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
    expect({ ssePingMs: config.ssePingMs, sseRetryMs: config.sseRetryMs, sseStallTimeoutMs: config.sseStallTimeoutMs }).to.eql({ ssePingMs: 50, sseRetryMs: 0, sseStallTimeoutMs: 1500 });
    expect(config.maxStreamsPerUser).to.equal(3);
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
    [{ CHARIOT_WS_MAX_MESSAGE: 'huge' }, 'CHARIOT_WS_MAX_MESSAGE must be a size such as 1mb, 512kb or 1048576, got "huge"'],
    [{ CHARIOT_USERS: 'nopassword' }, 'CHARIOT_USERS must be name:password pairs separated by commas'],
    [{ CHARIOT_USERS: 'a:1,a:2' }, 'CHARIOT_USERS names "a" twice'],
    [{ CHARIOT_SESSION_KEYS: 'short' }, 'CHARIOT_SESSION_KEYS must hold keys of at least 16 characters'],
    [{ CHARIOT_SSE_PING_MS: '5' }, 'CHARIOT_SSE_PING_MS must be between 10 and 3600000, got 5'],
    [{ CHARIOT_SSE_RETRY_MS: '2s' }, 'CHARIOT_SSE_RETRY_MS must be a whole number, got "2s"'],
    [{ CHARIOT_SSE_RETRY_MS: '3600001' }, 'CHARIOT_SSE_RETRY_MS must be between 0 and 3600000, got 3600001'],
    [{ CHARIOT_REDIS_URL: 'http://x' }, 'CHARIOT_REDIS_URL must start with redis:// or rediss://, got "http://x"'],
    [{ CHARIOT_REDIS_URL: 'redis://127.0.0.1:6379' }, 'CHARIOT_REDIS_URL needs CHARIOT_SESSION_KEYS: every instance must sign session cookies with the same keys'],
    [{ CHARIOT_INSTANCE_ID: 'a b' }, 'CHARIOT_INSTANCE_ID must be 1 to 64 letters, digits, dots, colons, underscores or dashes, got "a b"'],
    [{ CHARIOT_INSTANCE_ID: 'x'.repeat(65) }, `CHARIOT_INSTANCE_ID must be 1 to 64 letters, digits, dots, colons, underscores or dashes, got "${'x'.repeat(65)}"`],
    [{ NODE_ENV: 'production' }, 'NODE_ENV=production refuses the development default user admin/admin: set CHARIOT_USERS'],
  ];
  for (const [env, message] of bad) {
    it(`refuses ${JSON.stringify(env)} with a message naming the variable`, () => {
      expect(() => loadConfig(env)).to.throw(ConfigError, message);
    });
  }

  it('CHARIOT_WALK_GUARDS: off unless set; 1, true, on turn it on, 0, false, off keep it off, anything else is refused', () => {
    expect(loadConfig({}).walkGuards).to.equal(false);
    for (const raw of ['1', 'true', 'ON']) expect(loadConfig({ CHARIOT_WALK_GUARDS: raw }).walkGuards, raw).to.equal(true);
    for (const raw of ['0', 'false', 'off', '']) expect(loadConfig({ CHARIOT_WALK_GUARDS: raw }).walkGuards, raw).to.equal(false);
    expect(() => loadConfig({ CHARIOT_WALK_GUARDS: 'maybe' })).to.throw(ConfigError, 'CHARIOT_WALK_GUARDS must be true or false (or 1 or 0), got "maybe"');
  });

  it('starts in production when users are configured', () => {
    expect(loadConfig({ NODE_ENV: 'production', CHARIOT_USERS: 'ops:long-password' }).production).to.equal(true);
  });
});

describe('loadConfig: the range of every number (README "Configuration")', () => {
  const MIB = 1024 * 1024;
  const DAY_MS = 86_400_000;
  // variable, Config field, smallest and largest value accepted, and whether it is a size in bytes.
  const RANGES: ReadonlyArray<readonly [string, keyof Config, number, number, 'bytes'?]> = [
    ['PORT', 'port', 0, 65_535],
    ['CHARIOT_THREADS', 'threads', 1, 256],
    ['CHARIOT_TASKS_PER_THREAD', 'tasksPerThread', 1, 10_000],
    ['CHARIOT_SPARE_ISOLATES', 'spareIsolates', 0, 64],
    ['CHARIOT_ISOLATE_IDLE_MS', 'isolateIdleMs', 1000, DAY_MS],
    ['CHARIOT_INSTANCE_TIMEOUT_MS', 'instanceTimeoutMs', 1000, 3_600_000],
    ['CHARIOT_MAX_QUEUE', 'maxQueue', 0, 1_000_000],
    ['CHARIOT_MAX_QUEUE_WAIT_MS', 'maxQueueWaitMs', 100, DAY_MS],
    ['CHARIOT_MAX_PER_USER', 'maxPerUser', 1, 100_000],
    ['CHARIOT_INPUT_MAX_QUEUED', 'inputMaxQueued', 1, 100_000],
    ['CHARIOT_INPUT_MAX_BYTES', 'inputMaxBytes', 1, 256 * MIB, 'bytes'],
    ['CHARIOT_MAX_STREAMS_PER_USER', 'maxStreamsPerUser', 1, 100_000],
    ['CHARIOT_QUARANTINE_LIMIT', 'quarantineLimit', 1, 1000],
    ['CHARIOT_QUARANTINE_PER_USER', 'quarantinePerUser', 1, 1000],
    ['CHARIOT_QUARANTINE_COOLDOWN_MS', 'quarantineCooldownMs', 0, DAY_MS],
    ['CHARIOT_DRAIN_MS', 'drainMs', 0, 3_600_000],
    ['CHARIOT_THREAD_STALL_MS', 'threadStallMs', 1000, DAY_MS],
    ['CHARIOT_WORKER_NICE', 'workerNice', 0, 19],
    ['CHARIOT_CPU_MS', 'cpuMs', 1, DAY_MS],
    ['CHARIOT_WALL_MS', 'wallMs', 1, DAY_MS],
    ['CHARIOT_MEMORY_MB', 'memoryMb', 8, 65_536],
    ['CHARIOT_RESULT_LIMIT', 'resultLimitBytes', 1, 256 * MIB, 'bytes'],
    ['CHARIOT_LOG_BUFFER', 'logBuffer', 1, 100_000],
    ['CHARIOT_LOG_MESSAGE_LIMIT', 'logMessageLimit', 16, 16 * MIB],
    ['CHARIOT_LOG_ENTRY_CAP', 'logEntryCap', 1, 100_000_000],
    ['CHARIOT_LOG_BYTE_CAP', 'logByteCap', 1, 1024 * MIB, 'bytes'],
    ['CHARIOT_LOG_BUDGET', 'logBudget', 64 * 1024, 1024 * 1024 * MIB, 'bytes'],
    ['CHARIOT_LOG_BUDGET_PER_USER', 'logBudgetPerUser', 64 * 1024, 1024 * 1024 * MIB, 'bytes'],
    ['CHARIOT_RETENTION_MS', 'retentionMs', 0, 7 * DAY_MS],
    ['CHARIOT_BODY_LIMIT', 'bodyLimitBytes', 1, 256 * MIB, 'bytes'],
    ['CHARIOT_SSE_LAG_BUDGET', 'sseLagBudget', 1, 1024 * MIB, 'bytes'],
    ['CHARIOT_SSE_PING_MS', 'ssePingMs', 10, 3_600_000],
    ['CHARIOT_SSE_RETRY_MS', 'sseRetryMs', 0, 3_600_000],
    ['CHARIOT_SSE_STALL_TIMEOUT_MS', 'sseStallTimeoutMs', 1000, 3_600_000],
    ['CHARIOT_WS_MAX_MESSAGE', 'wsMaxMessageBytes', 1, 256 * MIB, 'bytes'],
    ['CHARIOT_WS_MAX_UNREAD', 'wsMaxUnreadBytes', 1024, 1024 * MIB, 'bytes'],
  ];
  for (const [variable, field, min, max, kind] of RANGES) {
    const unit = kind === 'bytes' ? ' bytes' : '';
    it(`${variable}: accepts ${min} and ${max}, refuses ${min - 1} and ${max + 1}, naming the variable`, () => {
      expect(loadConfig({ [variable]: String(min) })[field]).to.equal(min);
      expect(loadConfig({ [variable]: String(max) })[field]).to.equal(max);
      const below = min === 0 ? `${variable} must be a whole number, got "-1"` : `${variable} must be between ${min} and ${max}${unit}, got ${min - 1}`;
      expect(() => loadConfig({ [variable]: String(min - 1) })).to.throw(ConfigError, below);
      expect(() => loadConfig({ [variable]: String(max + 1) })).to.throw(ConfigError, `${variable} must be between ${min} and ${max}${unit}, got ${max + 1}`);
    });
  }

  it('CHARIOT_SANDBOX_MEMORY_MB: accepts 16 and 1048576, refuses 15 and 1048577 (one thread of 8 MiB isolates), and less than the isolates\' limit per thread', () => {
    const small = { CHARIOT_THREADS: '1', CHARIOT_MEMORY_MB: '8' };
    expect(loadConfig({ ...small, CHARIOT_SANDBOX_MEMORY_MB: '16' }).sandboxMemoryMb).to.equal(16);
    expect(loadConfig({ ...small, CHARIOT_SANDBOX_MEMORY_MB: '1048576' }).sandboxMemoryMb).to.equal(1024 * 1024);
    expect(() => loadConfig({ ...small, CHARIOT_SANDBOX_MEMORY_MB: '15' })).to.throw(ConfigError, 'CHARIOT_SANDBOX_MEMORY_MB must be between 16 and 1048576, got 15');
    expect(() => loadConfig({ ...small, CHARIOT_SANDBOX_MEMORY_MB: '1048577' })).to.throw(ConfigError, 'CHARIOT_SANDBOX_MEMORY_MB must be between 16 and 1048576, got 1048577');
    expect(() => loadConfig({ CHARIOT_THREADS: '1', CHARIOT_MEMORY_MB: '64', CHARIOT_SANDBOX_MEMORY_MB: '63' })).to.throw(ConfigError, 'CHARIOT_SANDBOX_MEMORY_MB must be at least CHARIOT_MEMORY_MB × CHARIOT_THREADS (64 × 1 = 64), got 63');
  });

  it('counts a size\'s unit in its range: 256mb is the largest body, 257mb and 1gb are refused', () => {
    expect(loadConfig({ CHARIOT_BODY_LIMIT: '256mb' }).bodyLimitBytes).to.equal(256 * MIB);
    expect(() => loadConfig({ CHARIOT_BODY_LIMIT: '257mb' })).to.throw(ConfigError, `CHARIOT_BODY_LIMIT must be between 1 and ${256 * MIB} bytes, got ${257 * MIB}`);
    expect(() => loadConfig({ CHARIOT_RESULT_LIMIT: '1gb' })).to.throw(ConfigError, `CHARIOT_RESULT_LIMIT must be between 1 and ${256 * MIB} bytes, got ${1024 * MIB}`);
    expect(loadConfig({ CHARIOT_LOG_BYTE_CAP: '1gb' }).logByteCap).to.equal(1024 * MIB);
    expect(() => loadConfig({ CHARIOT_LOG_BYTE_CAP: '0kb' })).to.throw(ConfigError, 'CHARIOT_LOG_BYTE_CAP must be between 1 and 1073741824 bytes, got 0');
  });

  it('refuses durations past what a Node timer can wait (3e9 ms would fire at once), in either spelling', () => {
    for (const variable of ['CHARIOT_WALL_MS', 'CHARIOT_SSE_PING_MS', 'CHARIOT_CPU_MS', 'CHARIOT_RETENTION_MS', 'CHARIOT_SSE_RETRY_MS', 'CHARIOT_SSE_STALL_TIMEOUT_MS']) {
      expect(() => loadConfig({ [variable]: '3000000000' }), variable).to.throw(ConfigError, new RegExp(`^${variable} must be between \\d+ and \\d+, got 3000000000$`));
      expect(() => loadConfig({ [variable]: '3e9' }), variable).to.throw(ConfigError, `${variable} must be a whole number, got "3e9"`);
    }
    expect(() => loadConfig({ CHARIOT_WALL_MS: '99999999999999999999' })).to.throw(ConfigError, 'CHARIOT_WALL_MS must be between 1 and 86400000, got 100000000000000000000');
  });
});

describe('start-up with a duration out of range (a server process of its own)', () => {
  for (const [variable, max] of [['CHARIOT_WALL_MS', 86_400_000], ['CHARIOT_SSE_PING_MS', 3_600_000]] as const) {
    it(`refuses ${variable}=3000000000 (a timer Node would fire at once) with one line naming the variable, and exits 1`, async () => {
      expect(await spawnRefused({ [variable]: '3000000000' })).to.eql({
        code: 1,
        stderr: `chariot-exec: configuration error: ${variable} must be between ${variable === 'CHARIOT_WALL_MS' ? 1 : 10} and ${max}, got 3000000000\n`,
      });
    });
  }
});

describe('a server at the longest wall-clock limit and ping interval', () => {
  const server = useServer({ CHARIOT_WALL_MS: '86400000', CHARIOT_SSE_PING_MS: '3600000' });

  it('runs executions to their end (no timer fires at once: no wall-clock error, no burst of pings)', async () => {
    const alice = await server.login('alice');
    const sync = await alice.json('POST', '/api/execute', { program: 'await sleep(100); 6 * 7' });
    expect(sync.status, sync.text).to.equal(200);
    expect(asObject(sync.body)).to.deep.include({ result: 42, type: 'number' });
    const id = await submit(alice, 'logPrint("a"); await sleep(300); logPrint("b"); 1');
    const stream = await alice.sse(`/api/logs/${id}`);
    const events = await stream.untilDone();
    expect(events.map((event) => event.event)).to.eql(['message', 'message', 'done']);
    expect(doneStatus(events)).to.equal('completed');
    expect(stream.comments, 'ping comments').to.eql([]);
  });
});
