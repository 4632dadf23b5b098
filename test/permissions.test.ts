// `npm start` runs the service under Node's permission model (README "Permissions"). Against the
// real server process, started with the start script's own flags: scripts run, and every thread
// (the main one and each worker) is refused child processes, file writes, reads outside the
// app folder, WASI and addons, and the workers new threads, through the test probe
// (CHARIOT_TEST_PROBE, src/test-probe.ts). The same probe against a server started without the
// model shows them allowed. A flag left out stops start-up with one line naming it.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { missingPermissions, UNGUARDED_WARNING } from '../src/permissions.js';
import type { ProbeAnswer } from '../src/test-probe.js';
import type { ProbeAttempts } from '../worker/protocol.js';
import { spawnRefused, spawnServer, within, type ServerProcess, type SpawnOptions } from './helpers/adversary.js';
import { asObject, expectKeys, expectLogEntries } from './helpers/expectations.js';
import { APP_ROOT, npmStartFlags } from './helpers/npm-start.js';

const THREADS = 2;
const APP_FOLDER = APP_ROOT.replace(/\/$/, '');
const NPM_START: SpawnOptions = { flags: npmStartFlags(), cwd: APP_ROOT };
/** Node 25 and later have a network scope: listening needs --allow-net. */
const KNOWS_NET = process.allowedNodeEnvironmentFlags.has('--allow-net');

/** What every thread may do under npm start's flags: read the app folder, nothing else of these. */
const DENIED: ProbeAttempts = {
  childProcess: 'ERR_ACCESS_DENIED',
  write: 'ERR_ACCESS_DENIED',
  readOutside: 'ERR_ACCESS_DENIED',
  readInside: 'allowed',
  wasi: 'ERR_ACCESS_DENIED',
  worker: 'ERR_ACCESS_DENIED',
  addon: 'ERR_ACCESS_DENIED',
};
/** The main thread runs no script and keeps one grant: starting threads (Piscina replaces a worker that died). */
const MAIN_DENIED: ProbeAttempts = { ...DENIED, worker: 'allowed' };
/** Without the model (ERR_DLOPEN_FAILED: the addon attempt got as far as loading a file that does not exist). */
const ALLOWED: ProbeAttempts = {
  childProcess: 'allowed',
  write: 'allowed',
  readOutside: 'allowed',
  readInside: 'allowed',
  wasi: 'allowed',
  worker: 'allowed',
  addon: 'ERR_DLOPEN_FAILED',
};

/** Asks the server's probe; asserts what the main thread and each of THREADS workers answered. */
async function expectEveryThread(server: ServerProcess, main: ProbeAttempts, attempts: ProbeAttempts): Promise<void> {
  const answer = await within(10_000, server.ask({ kind: 'probe' }), 'the probe\'s answer') as ProbeAnswer;
  const workers = answer.threads.slice(1).map(({ thread }) => thread);
  expect(new Set(workers).size, `distinct worker threads in ${JSON.stringify(answer)}`).to.equal(THREADS);
  expect(workers.every((thread) => typeof thread === 'number'), JSON.stringify(workers)).to.equal(true);
  expect(answer).to.deep.equal({
    kind: 'probe-answer',
    threads: [{ thread: 'main', attempts: main }, ...workers.map((thread) => ({ thread, attempts }))],
  });
}

/** A script through HTTP: the isolates work in this process. */
async function expectScriptRuns(server: ServerProcess): Promise<void> {
  const alice = await server.login('alice');
  const res = await alice.json('POST', '/api/execute', { program: 'logPrint("in an isolate"); 6 * 7' });
  expect(res.status, res.text).to.equal(200);
  const body = asObject(res.body);
  expectKeys(body, ['result', 'type', 'logs', 'execution_id']);
  expect({ result: body.result, type: body.type }).to.eql({ result: 42, type: 'number' });
  expectLogEntries(body.logs, [{ level: 'INFO', message: 'in an isolate' }]);
}

/** Standard error without the warnings Node prints itself, e.g. Node 26's "--allow-net is under experimental phase". */
function withoutNodeWarnings(stderr: string): string {
  return stderr.split('\n').filter((line) => !/^\(node:\d+\) \w*Warning: /.test(line) && !line.startsWith('(Use `node --trace-warnings')).join('\n');
}

/** The start script's flags with `flag` left out (asserted to be among them) and `extra` added. */
function without(flag: string, ...extra: string[]): string[] {
  const flags = npmStartFlags();
  expect(flags, 'the start script\'s flags').to.include(flag);
  return [...flags.filter((word) => word !== flag), ...extra];
}

function refusal(what: string, flags: string): string {
  return `chariot-exec: the permission model denies ${what}: start node with ${flags} (see README "Permissions")\n`;
}

describe('npm start under the permission model', function () {
  this.timeout(60_000);

  describe('a server started with the start script\'s flags', () => {
    let server: ServerProcess | undefined;
    before(async () => {
      server = await spawnServer({ CHARIOT_THREADS: String(THREADS), CHARIOT_TEST_PROBE: '1' }, { ...NPM_START, ipc: true });
    });
    after(async () => {
      await server?.kill();
    });

    it('runs a script in an isolate of a worker thread', async () => {
      await expectScriptRuns(server!);
    });

    it('refuses child_process, a file write, a read outside the app folder, WASI, addons and new threads in every worker thread, and allows a read inside the app folder', async () => {
      await expectEveryThread(server!, MAIN_DENIED, DENIED);
    });

    it('says where it listens, who may log in and how, and nothing else of its own (no warning)', () => {
      const { url } = server!;
      expect(withoutNodeWarnings(server!.output()).split('\n').filter((line) => line !== '')).to.eql([
        `chariot-exec listening on ${url}`,
        'users: alice, bob, carol, dave',
        `try: curl -c cookies.txt -H 'Content-Type: application/json' -d '{"username":"...","password":"..."}' ${url}/login`,
      ]);
    });
  });

  describe('the control: a server started without --permission', () => {
    let server: ServerProcess | undefined;
    before(async () => {
      server = await spawnServer({ CHARIOT_THREADS: String(THREADS), CHARIOT_TEST_PROBE: '1' }, { ipc: true });
    });
    after(async () => {
      await server?.kill();
    });

    it('lets every thread do all of it (so the probe can tell)', async () => {
      await expectScriptRuns(server!);
      await expectEveryThread(server!, ALLOWED, ALLOWED);
    });

    it('says once that it does not run under the permission model', async () => {
      const output = await within(5000, server!.untilOutput(/not running under the Node permission model/), 'the warning');
      expect(output.split('\n').filter((line) => line.includes('permission model'))).to.eql([UNGUARDED_WARNING]);
    });
  });

  describe('start-up refusals (the real dist/src/main.js, a flag left out, exit code 1)', () => {
    it('without --allow-worker', async () => {
      const { code, stderr } = await spawnRefused({}, { ...NPM_START, flags: without('--allow-worker') });
      expect({ code, stderr: withoutNodeWarnings(stderr) }).to.eql({ code: 1, stderr: refusal('worker threads', '--allow-worker') });
    });

    it('without --allow-addons', async () => {
      const { code, stderr } = await spawnRefused({}, { ...NPM_START, flags: without('--allow-addons') });
      expect({ code, stderr: withoutNodeWarnings(stderr) }).to.eql({ code: 1, stderr: refusal('native addons (isolated-vm)', '--allow-addons') });
    });

    it('without --allow-fs-read=/etc/alpine-release, which isolated-vm\'s loader reads', async function () {
      if (process.platform !== 'linux') this.skip(); // node-gyp-build looks for the file on Linux only
      const { code, stderr } = await spawnRefused({}, { ...NPM_START, flags: without('--allow-fs-read=/etc/alpine-release') });
      expect({ code, stderr: withoutNodeWarnings(stderr) }).to.eql({
        code: 1,
        stderr: refusal('reading /etc/alpine-release (isolated-vm\'s loader)', '--allow-fs-read=/etc/alpine-release'),
      });
    });

    it('without --allow-net on a Node that has a network scope', async function () {
      if (!KNOWS_NET) this.skip(); // Node 24 has no --allow-net: its permission model leaves the network alone
      const { code, stderr } = await spawnRefused({}, { ...NPM_START, flags: without('--allow-net') });
      expect({ code, stderr: withoutNodeWarnings(stderr) }).to.eql({ code: 1, stderr: refusal('the network (listening on a port)', '--allow-net') });
    });

    it('without --allow-fs-read=. (nothing of the app can be read but its entry file)', async () => {
      const { code, stderr } = await spawnRefused({}, { ...NPM_START, flags: without('--allow-fs-read=.') });
      expect({ code, stderr: withoutNodeWarnings(stderr) }).to.eql({
        code: 1,
        stderr: refusal(`reading the app folder ${APP_FOLDER}`, `--allow-fs-read=${APP_FOLDER}`),
      });
    });

    it('with reads of dist/ and node_modules/ only (Node must read the folder itself to find package.json)', async () => {
      const { code, stderr } = await spawnRefused({}, { ...NPM_START, flags: without('--allow-fs-read=.', '--allow-fs-read=./dist', '--allow-fs-read=./node_modules') });
      expect({ code, stderr: withoutNodeWarnings(stderr) }).to.eql({
        code: 1,
        stderr: refusal(`reading the app folder ${APP_FOLDER}`, `--allow-fs-read=${APP_FOLDER}`),
      });
    });

    it('started outside the app folder, where --allow-fs-read=. means another folder', async () => {
      // A new, empty folder: the temp folder itself may hold the app (a clone under /tmp).
      const elsewhere = mkdtempSync(join(tmpdir(), 'chariot-elsewhere-'));
      try {
        const { code, stderr } = await spawnRefused({}, { ...NPM_START, cwd: elsewhere });
        expect({ code, stderr: withoutNodeWarnings(stderr) }).to.eql({
          code: 1,
          stderr: refusal(`reading the app folder ${APP_FOLDER}`, `--allow-fs-read=${APP_FOLDER}`),
        });
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    });

    it('names every missing permission in the one line', async () => {
      const flags = without('--allow-worker').filter((word) => word !== '--allow-addons');
      const { code, stderr } = await spawnRefused({}, { ...NPM_START, flags });
      expect({ code, stderr: withoutNodeWarnings(stderr) }).to.eql({
        code: 1,
        stderr: refusal('worker threads, native addons (isolated-vm)', '--allow-worker --allow-addons'),
      });
    });
  });

  describe('what the start-up check asks for (src/permissions.ts)', () => {
    const grants = (...denied: string[]) => (scope: string, reference?: string): boolean => !denied.includes(reference === undefined ? scope : `${scope} ${reference}`);

    it('asks for nothing more when everything it needs is granted', () => {
      expect(missingPermissions(grants(), true, 'linux')).to.eql([]);
    });

    it('asks for --allow-net only where Node has a network scope, and for /etc/alpine-release only on Linux', () => {
      expect(missingPermissions(grants('net', 'fs.read /etc/alpine-release'), false, 'darwin')).to.eql([]);
      expect(missingPermissions(grants('net', 'fs.read /etc/alpine-release'), true, 'linux')).to.eql([
        { what: 'reading /etc/alpine-release (isolated-vm\'s loader)', flag: '--allow-fs-read=/etc/alpine-release' },
        { what: 'the network (listening on a port)', flag: '--allow-net' },
      ]);
    });
  });

  describe('the test probe is a test seam (CHARIOT_TEST_PROBE)', () => {
    it('is off unless asked for', () => {
      expect(loadConfig({}).testProbeChannel).to.equal(undefined);
    });

    it('is refused under NODE_ENV=production', () => {
      expect(() => loadConfig({ NODE_ENV: 'production', CHARIOT_USERS: 'ops:long-password', CHARIOT_TEST_PROBE: '1' }))
        .to.throw('CHARIOT_TEST_PROBE is a test seam: NODE_ENV=production refuses it');
    });

    it('accepts only 1', () => {
      expect(() => loadConfig({ CHARIOT_TEST_PROBE: 'yes' })).to.throw('CHARIOT_TEST_PROBE must be 1 or unset, got "yes"');
    });
  });
});
