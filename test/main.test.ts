// The `npm start` entry point as a real process: start-up announcement, configuration errors,
// and a clean SIGTERM while a script runs and a subscriber watches.
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  readonly output: () => string;
}

function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--no-node-snapshot', MAIN], { env: { PATH: process.env.PATH ?? '', ...env } });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    const onData = (): void => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        child.stdout.off('data', onData);
        resolve({ child, url: match[1] as string, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
}

function post(url: string, body: unknown, cookie = ''): Promise<{ status: number; cookie: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', cookie } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => {
        const cookies = (res.headers['set-cookie'] ?? []).map((value) => value.split(';')[0]).join('; ');
        resolve({ status: res.statusCode ?? 0, cookie: cookies, body: text });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('npm start (src/main.ts)', function () {
  this.timeout(20_000);

  it('announces the URL and the development login', async () => {
    const { child, url, output } = await start({ PORT: '0', CHARIOT_THREADS: '1' });
    try {
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      await new Promise((resolve) => setTimeout(resolve, 100)); // the warning follows the URL line
      expect(output()).to.contain('DEVELOPMENT DEFAULT: log in as admin / admin');
    } finally {
      child.kill('SIGKILL');
    }
  });

  /** Starts the process with `env`, expecting it to refuse: its exit code and standard error. */
  async function refusal(env: Record<string, string>): Promise<{ code: unknown; errors: string }> {
    const child = spawn(process.execPath, ['--no-node-snapshot', MAIN], { env: { PATH: process.env.PATH ?? '', ...env } });
    let errors = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
    const [code] = await once(child, 'exit');
    return { code, errors };
  }

  it('refuses a bad variable with a message naming it, and exits 1', async () => {
    expect(await refusal({ PORT: 'x' })).to.eql({
      code: 1,
      errors: 'chariot-exec: configuration error: PORT must be a whole number, got "x"\n',
    });
  });

  it('refuses the default user under NODE_ENV=production', async () => {
    expect(await refusal({ NODE_ENV: 'production', PORT: '0' })).to.eql({
      code: 1,
      errors: 'chariot-exec: configuration error: NODE_ENV=production refuses the development default user admin/admin: set CHARIOT_USERS\n',
    });
  });

  it('on SIGTERM cancels running scripts, ends SSE streams with done and exits 0', async () => {
    const { child, url } = await start({ PORT: '0', CHARIOT_THREADS: '1', CHARIOT_USERS: 'ops:ops-password' });
    const login = await post(`${url}/login`, { username: 'ops', password: 'ops-password' });
    expect(login.status).to.equal(200);
    const submitted = await post(`${url}/api/execute-async`, { program: 'logPrint("up"); await sleep(60000)' }, login.cookie);
    const { execution_id: id } = JSON.parse(submitted.body) as { execution_id: string };

    let stream = '';
    let signalled = false;
    const ended = new Promise<void>((resolve, reject) => {
      request(`${url}/api/logs/${id}`, { headers: { cookie: login.cookie } }, (res) => {
        res.setEncoding('utf8').on('data', (chunk: string) => {
          stream += chunk;
          if (!signalled && stream.includes('"message":"up"')) signalled = child.kill('SIGTERM');
        });
        res.on('end', resolve);
      }).on('error', reject).end();
    });
    const [[code]] = await Promise.all([once(child, 'exit'), ended]);
    expect(code).to.equal(0);
    expect(stream).to.match(/^retry: 2000\n\nid: 1\ndata: \{"seq":1,"timestamp":"[^"]+","level":"INFO","message":"up"\}\n\nevent: done\ndata: \{"status":"cancelled"\}\n\n$/);
  });

  // Before the workers collected their dead isolated-vm handles ahead of stopping, V8's last
  // collection at thread exit aborted the process ("IsolateEnvironment::GetCurrent():
  // Assertion `environment != nullptr' failed"): 2 of 4 such runs on Node 24, after about 15,000
  // executions each. Fewer executions rarely leave enough uncollected handles to show it.
  it('on SIGTERM after 15,000 executions on two threads exits 0, and every one completed', async function () {
    this.timeout(90_000);
    const { child, url, output } = await start({ PORT: '0', CHARIOT_THREADS: '2', CHARIOT_USERS: 'ops:ops-password' });
    const login = await post(`${url}/login`, { username: 'ops', password: 'ops-password' });
    expect(login.status).to.equal(200);
    const TOTAL = 15_000;
    let started = 0;
    const answers = new Map<string, number>();
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (started < TOTAL) {
        started++;
        const res = await post(`${url}/api/execute`, { program: 'logPrint("x"); 1+2' }, login.cookie);
        const key = `${res.status} ${res.body.replace(/"execution_id":"[^"]+"/, '"execution_id":…').replace(/"timestamp":"[^"]+"/, '"timestamp":…')}`;
        answers.set(key, (answers.get(key) ?? 0) + 1);
      }
    }));
    expect([...answers]).to.eql([[
      '200 {"result":3,"type":"number","logs":[{"seq":1,"timestamp":…,"level":"INFO","message":"x"}],"execution_id":…}',
      TOTAL,
    ]]);
    child.kill('SIGTERM');
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect({ code, signal, aborted: /Assertion|Aborted/.test(output()) }, output().split('\n').slice(-5).join('\n')).to.eql({ code: 0, signal: null, aborted: false });
  });
});
