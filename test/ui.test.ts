// The web UI in a real browser (Debian's Chromium through playwright-core) against the real
// server: log in and out, run with live logs, progress, result and error, input typed to the
// script, cancel, history, level filter, auto-scroll, a gap notice, 100,000 lines, a dropped
// connection that resumes without duplicates, keyboard use, accessible names and a phone's
// width. All of it twice: over the page's WebSocket (the UI's way when it can), and over SSE
// and HTTP in a browser without WebSocket; and once behind a proxy that does not pass
// WebSocket upgrades, where the UI falls back to SSE by itself.
import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import type { Page, Response } from 'playwright-core';
import type { Client, Json } from './helpers/client.js';
import { asArray, asObject } from './helpers/expectations.js';
import { expectWholeLog, pageOf } from './helpers/executions.js';
import { launchBrowser, takePageErrors, type TestBrowser } from './helpers/browser.js';
import { headerOf, TcpRelay } from './helpers/relay.js';
import { startNginx } from './helpers/nginx.js';
import { PASSWORDS, useServer, type User } from './helpers/server.js';

type Transport = 'websocket' | 'sse';
const TRANSPORTS: readonly Transport[] = ['websocket', 'sse'];
const SHOWN: Readonly<Record<Transport, string>> = { websocket: 'live via WebSocket', sse: 'live via SSE' };

/** A page of `browser`; for 'sse', one in a browser without WebSocket (as the UI must work there too). */
async function newUiPage(browser: TestBrowser, transport: Transport, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage(viewport);
  if (transport === 'sse') await page.addInitScript('delete window.WebSocket');
  return page;
}

const OUTPUT_DIR = new URL('../../test-output/ui/', import.meta.url);

async function logIn(page: Page, url: string, user: User): Promise<void> {
  await page.goto(url);
  await page.getByRole('textbox', { name: 'Username' }).fill(user);
  await page.getByRole('textbox', { name: 'Password' }).fill(PASSWORDS[user]);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText(`Signed in as ${user}`).waitFor();
}

async function setScript(page: Page, program: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Script editor' }).fill(program);
}

async function runScript(page: Page, program: string): Promise<string> {
  await setScript(page, program);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.locator('#execution-id:not(:empty)').waitFor();
  return (await page.locator('#execution-id').textContent()) ?? '';
}

async function waitForStatus(page: Page, status: string, timeout?: number): Promise<void> {
  await page.locator(`#status[data-status="${status}"]`).waitFor(timeout === undefined ? {} : { timeout });
}

/** The log panel's lines as the person sees them: "LEVEL message", in order. */
async function logLines(page: Page): Promise<string[]> {
  return page.locator('#log li').evaluateAll((items) => items.map((item) => {
    const parts = [...item.children].slice(1).map((part) => part.textContent ?? '');
    return parts.length > 0 ? parts.join(' ') : item.textContent ?? '';
  }));
}

for (const transport of TRANSPORTS) describe(`web UI (Chromium, ${transport === 'websocket' ? 'WebSocket' : 'SSE'})`, function () {
  this.timeout(60_000);
  const server = useServer({ CHARIOT_LOG_BUFFER: '100000', CHARIOT_SSE_PING_MS: '1000', CHARIOT_INPUT_MAX_BYTES: '64' });
  let browser: TestBrowser;
  let page: Page;
  let alice: Client;

  before(async () => {
    browser = await launchBrowser();
    alice = await server.login('alice');
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    page = await newUiPage(browser, transport);
    await logIn(page, server.url, 'alice');
  });
  afterEach(async () => {
    await page.close();
    expect(takePageErrors().map(String), 'uncaught errors in the page').to.eql([]);
  });

  it('logs in with the form, says who is signed in, logs out, and refuses a wrong password with its message', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(await page.locator('#app-view').isHidden()).to.equal(true);
    await page.getByRole('textbox', { name: 'Username' }).fill('alice');
    await page.getByRole('textbox', { name: 'Password' }).fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Invalid credentials' }).waitFor();
    expect(await page.locator('#app-view').isHidden()).to.equal(true);
  });

  it('brings the login back with a message when a call answers 401 (the session ended)', async () => {
    await page.context().clearCookies();
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(await page.locator('#login-error').textContent()).to.equal('Your session has ended: log in again.');
    await logIn(page, server.url, 'alice');
  });

  it('shows the log live: the first of five lines 300 ms apart is on screen while the server holds fewer than five', async () => {
    const id = await runScript(page, 'for (let i = 1; i <= 5; i++) { logPrint("line " + i); if (i < 5) await sleep(300); } 5');
    await page.locator('#log li', { hasText: 'line 1' }).waitFor();
    const meanwhile = await alice.json('GET', `/api/result/${id}`);
    const body = asObject(meanwhile.body);
    expect(meanwhile.status, meanwhile.text).to.equal(202);
    expect(body.status).to.equal('running');
    expect(asArray(body.logs).length, 'entries logged when line 1 was on screen').to.be.below(5);
    expectWholeLog(body, asArray(body.logs).length);
    await waitForStatus(page, 'completed');
    expect(await logLines(page)).to.eql(['INFO line 1', 'INFO line 2', 'INFO line 3', 'INFO line 4', 'INFO line 5']);
  });

  it('moves the progress bar through every progress() value, then shows the result 3 with its type', async () => {
    await page.evaluate(`(() => {
      const bar = document.querySelector('[role=progressbar]');
      window.progressSeen = [];
      new MutationObserver(() => window.progressSeen.push(bar.getAttribute('aria-valuenow'))).observe(bar, { attributeFilter: ['aria-valuenow'] });
    })()`);
    // Progress is state, not history: a subscriber that connects late gets the latest value
    // only. The sleeps give the page time to connect; the bar must still be seen to move.
    await runScript(page, [
      'logPrint("fetching the input");',
      'await sleep(300);',
      'progress(10, "start");',
      'console.debug("batch size", 64);',
      'await sleep(300);',
      'progress(60, "half");',
      'console.warn("2 records skipped");',
      'await sleep(300);',
      'progress(100, "all");',
      'logPrint("sum is", 1 + 2);',
      '1 + 2',
    ].join('\n'));
    await waitForStatus(page, 'completed');
    const seen = await page.evaluate('window.progressSeen.filter((value) => value !== "0")') as string[];
    expect(seen.length, `values seen: ${seen.join(', ')}`).to.be.at.least(2);
    expect(['10', '60', '100'].filter((value) => seen.includes(value)), 'in order, none repeated').to.eql(seen);
    expect(seen.at(-1)).to.equal('100');
    expect(await page.getByRole('progressbar', { name: 'Script progress' }).getAttribute('aria-valuetext')).to.equal('100%: all');
    expect(await page.locator('#result-value').textContent()).to.equal('3');
    expect(await page.locator('#result-type').textContent()).to.equal('(number)');
    expect(await page.locator('#error').isHidden()).to.equal(true);
    expect(await page.locator('#duration').textContent()).to.match(/^\d+ ms$/);
    expect(await logLines(page)).to.eql(['INFO fetching the input', 'DEBUG batch size 64', 'WARN 2 records skipped', 'INFO sum is 3']);
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: new URL('finished-run.png', OUTPUT_DIR).pathname, fullPage: true });
  });

  it("shows a failing script's error and its log", async () => {
    await runScript(page, 'logPrint("about to fail"); throw new TypeError("bad input")');
    await waitForStatus(page, 'error');
    expect(await page.locator('#error-message').textContent()).to.equal('TypeError: bad input');
    expect(await page.locator('#result').isHidden()).to.equal(true);
    expect(await logLines(page)).to.eql(['INFO about to fail']);
  });

  it('reads a run\'s status and result from /api/result one entry at a time (?limit=1), and its 30 lines from the stream', async () => {
    const answers: Response[] = [];
    const both = new Promise<void>((resolve) => {
      page.on('response', (response) => {
        if (!new URL(response.url()).pathname.startsWith('/api/result/')) return;
        answers.push(response);
        if (answers.length === 2) resolve();
      });
    });
    const id = await runScript(page, 'for (let i = 1; i <= 30; i++) logPrint("line " + i); 30');
    await waitForStatus(page, 'completed');
    await both; // open()'s answer and finish()'s
    expect(await page.locator('#result-value').textContent()).to.equal('30');
    expect(await logLines(page)).to.eql(Array.from({ length: 30 }, (_, i) => `INFO line ${i + 1}`));
    expect(answers.map((response) => response.url())).to.eql([1, 2].map(() => `${server.url}/api/result/${id}?limit=1`));
    const last = asObject((await answers[1]!.json()) as Json);
    expect({ status: last.status, result: last.result, entries: asArray(last.logs).length, ...pageOf(last) }).to.eql({
      status: 'completed',
      result: { value: 30, type: 'number' },
      entries: 1,
      logs_missed: 0,
      logs_next_after: 1,
      logs_more: true,
    });
  });

  it('cancels an endless loop with the Cancel button: status cancelled, and Run works again', async () => {
    await runScript(page, 'logPrint("spinning"); while (true) {}');
    await page.locator('#log li', { hasText: 'spinning' }).waitFor();
    expect(await page.getByRole('button', { name: 'Run', exact: true }).isDisabled()).to.equal(true);
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await waitForStatus(page, 'cancelled');
    expect(await page.locator('#error-message').textContent()).to.equal('Execution cancelled');
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).isDisabled()).to.equal(true);
    await runScript(page, '"again"');
    await waitForStatus(page, 'completed');
    expect(await page.locator('#result-value').textContent()).to.equal('"again"');
  });

  it('lists the runs newest first with their status, and opening an older one replays its log, its latest progress and its result', async () => {
    const carol = await browser.newPage();
    await logIn(carol, server.url, 'carol');
    await runScript(carol, 'logPrint("first run"); progress(40, "part"); "one"');
    await waitForStatus(carol, 'completed');
    await runScript(carol, 'logPrint("second run"); throw new Error("two")');
    await waitForStatus(carol, 'error');
    const history = carol.getByRole('list', { name: 'Execution history' });
    // The list is refreshed when a run starts and when it ends: wait for the last refresh.
    await history.getByRole('button', { name: /^error: logPrint\("second run"\)/ }).waitFor();
    expect(await history.getByRole('button').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label')?.replace(/, [\d:]+$/, ''))))
      .to.eql(['error: logPrint("second run"); throw new Error("two")', 'completed: logPrint("first run"); progress(40, "part"); "one"']);
    const bar = carol.getByRole('progressbar', { name: 'Script progress' });
    expect(await bar.getAttribute('aria-valuetext'), 'the failed run reported no progress').to.equal('0%');
    await history.getByRole('button').nth(1).click();
    await waitForStatus(carol, 'completed');
    expect(await carol.locator('#result-value').textContent()).to.equal('"one"');
    expect(await logLines(carol)).to.eql(['INFO first run']);
    // The replay brings the latest progress back.
    expect(await bar.getAttribute('aria-valuetext')).to.equal('40%: part');
    await carol.close();
  });

  it('filters the log by level, and says how many lines are filtered out', async () => {
    await runScript(page, 'console.debug("d"); logPrint("i"); console.warn("w"); console.error("e"); 0');
    await waitForStatus(page, 'completed');
    expect(await logLines(page)).to.eql(['DEBUG d', 'INFO i', 'WARN w', 'ERROR e']);
    await page.getByRole('combobox', { name: 'Minimum log level' }).selectOption('WARN');
    await page.locator('#log-count', { hasText: '4 lines, 2 filtered out' }).waitFor();
    expect(await logLines(page)).to.eql(['WARN w', 'ERROR e']);
    await page.getByRole('combobox', { name: 'Minimum log level' }).selectOption('DEBUG');
    await page.locator('#log-count', { hasText: /^4 lines$/ }).waitFor();
    expect(await logLines(page)).to.eql(['DEBUG d', 'INFO i', 'WARN w', 'ERROR e']);
  });

  it('stops following the end when the person scrolls up, and follows again from "Jump to latest"', async () => {
    // The pause is the person's time to scroll up before the second half arrives.
    await runScript(page, 'for (let i = 0; i < 300; i++) logPrint("a" + i); await sleep(2000); for (let i = 0; i < 300; i++) logPrint("b" + i); 0');
    await page.locator('#log-count', { hasText: /^300 lines$/ }).waitFor();
    await page.locator('#log').evaluate((list) => list.scrollTo({ top: 0 }));
    await page.getByRole('button', { name: 'Jump to latest' }).waitFor();
    await waitForStatus(page, 'completed');
    await page.locator('#log-count', { hasText: /^600 lines$/ }).waitFor();
    expect(await page.locator('#log').evaluate((list) => list.scrollTop)).to.equal(0);
    await page.getByRole('button', { name: 'Jump to latest' }).click();
    const atEnd = await page.locator('#log').evaluate((list) => list.scrollTop + list.clientHeight >= list.scrollHeight - 4);
    expect(atEnd).to.equal(true);
    expect(await page.getByRole('button', { name: 'Jump to latest' }).isHidden()).to.equal(true);
  });

  it('keeps 100,000 lines from freezing the page: the newest 1,000 are drawn and a notice counts the rest', async function () {
    // Chromium hands the page each WebSocket message as a task of its own: 100,000 of them took
    // 9.1 s here against 2.9 s as EventSource events (docs/API.md, "GET /api/ws"), and some
    // 35 s with the UI's drawing. Time to arrive, not an assertion of speed.
    this.timeout(180_000);
    await runScript(page, 'for (let i = 1; i <= 100000; i++) logPrint("n" + i); "flood"');
    await waitForStatus(page, 'completed', 150_000);
    await page.locator('#log-count', { hasText: /^100,000 lines$/ }).waitFor();
    expect(await page.locator('#log li').count()).to.equal(1000);
    expect(await page.locator('#log-hidden').textContent()).to.equal('99,000 earlier lines are not shown (the panel keeps the newest 1,000)');
    const lines = await logLines(page);
    expect(lines[0]).to.equal('INFO n99001');
    expect(lines.at(-1)).to.equal('INFO n100000');
  });

  it(`resumes by itself after the connection drops mid-run, with every line once (${transport === 'sse' ? 'Last-Event-ID' : 'subscribe after'})`, async () => {
    const relay = await TcpRelay.start(server.url);
    try {
      const viaProxy = await newUiPage(browser, transport);
      await logIn(viaProxy, relay.url, 'alice');
      // 10 × 400 ms: the browser's reconnect (retry: 2000 ms) comes while the script still runs.
      const id = await runScript(viaProxy, 'for (let i = 1; i <= 10; i++) { logPrint("tick " + i); await sleep(400); } "end"');
      await viaProxy.locator('#log li', { hasText: 'tick 2' }).waitFor();
      const before = relay.requests.length;
      relay.cut();
      await waitForStatus(viaProxy, 'completed');
      if (transport === 'sse') {
        // The browser came back on a new connection, asking for what follows the last line it had.
        const resumed = relay.requests.slice(before).filter((head) => head.startsWith(`GET /api/logs/${id} `));
        expect(resumed, 'the reconnect of the stream').to.have.length(1);
        // At least the 2 lines on screen before the cut; a line may have been in flight.
        expect(headerOf(resumed[0]!, 'last-event-id')).to.be.oneOf(['2', '3', '4', '5', '6', '7', '8', '9']);
      } else {
        // A new socket (its subscribe says `after`, inside a frame), and no event stream.
        const again = relay.requests.slice(before).filter((head) => head.startsWith('GET /api/ws ') || head.startsWith('GET /api/logs/'));
        expect(again.map((head) => head.split(' ').slice(0, 2).join(' ')), 'the reconnect').to.eql(['GET /api/ws']);
      }
      const ticks = Array.from({ length: 10 }, (_, i) => i + 1);
      expect(await logLines(viaProxy)).to.eql(ticks.map((i) => `INFO tick ${i}`));
      expect(await viaProxy.locator('#log li').evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.seq)))
        .to.eql(ticks.map(String));
      await viaProxy.close();
    } finally {
      await relay.close();
    }
  });

  it(`brings the login back when the stream cannot resume because the session ended (${transport === 'sse' ? 'EventSource' : 'the socket\'s upgrade'} answered 401)`, async () => {
    const relay = await TcpRelay.start(server.url);
    try {
      const viaProxy = await newUiPage(browser, transport);
      await logIn(viaProxy, relay.url, 'bob');
      await runScript(viaProxy, 'logPrint("waiting"); await sleep(20000); 1');
      await viaProxy.locator('#log li', { hasText: 'waiting' }).waitFor();
      await viaProxy.context().clearCookies();
      relay.cut();
      await viaProxy.getByRole('heading', { name: 'Log in' }).waitFor();
      expect(await viaProxy.locator('#login-error').textContent()).to.equal('Your session has ended: log in again.');
      expect(await viaProxy.locator('#log li').count(), 'nothing of the last session stays on the page').to.equal(0);
      await viaProxy.close();
    } finally {
      await relay.close();
    }
  });

  it(`says the log comes ${SHOWN[transport].replace('live ', '')}`, async () => {
    await runScript(page, 'logPrint("hello"); 1');
    await waitForStatus(page, 'completed');
    expect(await page.locator('#transport').textContent()).to.equal(SHOWN[transport]);
  });

  it('sends each line typed in Input with Enter to the script\'s input(), in order, and End input makes it null', async () => {
    await runScript(page, 'logPrint("ready"); let n = 0; for (let line; (line = await input()) !== null; n++) logPrint("got " + line); n');
    await page.locator('#log li', { hasText: 'ready' }).waitFor();
    const line = page.getByRole('textbox', { name: 'Input' });
    for (const text of ['first', 'second line', 'third']) {
      await line.fill(text);
      await line.press('Enter');
    }
    await page.locator('#log li', { hasText: 'got third' }).waitFor();
    expect(await line.inputValue(), 'the box is emptied after each line').to.equal('');
    await page.getByRole('button', { name: 'End input' }).click();
    await waitForStatus(page, 'completed');
    expect(await logLines(page)).to.eql(['INFO ready', 'INFO got first', 'INFO got second line', 'INFO got third']);
    expect(await page.locator('#result-value').textContent()).to.equal('3');
    expect([await line.isDisabled(), await page.getByRole('button', { name: 'Send' }).isDisabled()], 'no input once it finished').to.eql([true, true]);
  });

  it('shows why a line was refused (over CHARIOT_INPUT_MAX_BYTES), and the script reads the next one', async () => {
    await runScript(page, 'logPrint("ready"); const line = await input(); logPrint("got " + line); line.length');
    await page.locator('#log li', { hasText: 'ready' }).waitFor();
    const line = page.getByRole('textbox', { name: 'Input' });
    await line.fill('x'.repeat(100));
    await line.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'The input message is 100 bytes, over CHARIOT_INPUT_MAX_BYTES (64 bytes)' }).waitFor();
    await line.fill('short');
    await line.press('Enter');
    await waitForStatus(page, 'completed');
    expect(await logLines(page)).to.eql(['INFO ready', 'INFO got short']);
    expect(await page.locator('#result-value').textContent()).to.equal('5');
  });

  it('is usable from the keyboard: every control has a name, Ctrl+Enter in the editor runs the script', async () => {
    for (const [role, name] of [
      ['button', 'Log out'], ['textbox', 'Script editor'], ['button', 'Run'], ['button', 'Cancel'],
      ['combobox', 'Minimum log level'], ['list', 'Execution history'], ['progressbar', 'Script progress'], ['list', 'Script log'],
      ['textbox', 'Input'], ['button', 'Send'], ['button', 'End input'],
    ] as const) {
      expect(await page.getByRole(role, { name, exact: true }).count(), `${role} "${name}"`).to.equal(1);
    }
    await setScript(page, 'logPrint("from the keyboard"); 42');
    await page.getByRole('textbox', { name: 'Script editor' }).press('Control+Enter');
    await waitForStatus(page, 'completed');
    expect(await page.locator('#result-value').textContent()).to.equal('42');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).to.equal('run');
  });

  it("fits a phone's width (375 px) with no sideways scrolling, even with a long unbroken log line", async () => {
    const phone = await newUiPage(browser, transport, { width: 375, height: 800 });
    await logIn(phone, server.url, 'alice');
    await runScript(phone, 'logPrint("x".repeat(2000)); ({ wide: "y".repeat(500) })');
    await waitForStatus(phone, 'completed');
    expect(await phone.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')).to.eql([375, 375]);
    await phone.close();
  });
});

describe('web UI (Chromium): a log that outgrew the ring buffer', function () {
  this.timeout(60_000);
  const server = useServer({ CHARIOT_LOG_BUFFER: '10' });
  let browser: TestBrowser;

  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('shows a notice with the number of lines skipped, then the retained ones', async () => {
    const page = await browser.newPage();
    await logIn(page, server.url, 'dave');
    const id = await runScript(page, 'for (let i = 1; i <= 50; i++) logPrint("m" + i); "done"');
    await waitForStatus(page, 'completed');
    // Opened again from the history: the replay starts before the ring's oldest entry.
    await page.reload();
    await page.getByRole('list', { name: 'Execution history' }).locator(`button[data-execution-id="${id}"]`).click();
    await waitForStatus(page, 'completed');
    const lines = await logLines(page);
    expect(lines).to.eql([
      '40 log lines were skipped: they left the server\'s buffer before they could be delivered',
      ...Array.from({ length: 10 }, (_, i) => `INFO m${41 + i}`),
    ]);
    await page.close();
  });
});

describe('web UI (Chromium) behind a proxy that does not pass WebSocket upgrades', function () {
  this.timeout(60_000);
  const server = useServer();
  let browser: TestBrowser;

  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('falls back to SSE and HTTP by itself: the log, the input and the result all arrive', async () => {
    // nginx's own defaults drop the Upgrade header: the server sees a plain GET /api/ws (404).
    const nginx = await startNginx(server.url, '1.1', { passHost: true });
    try {
      const page = await browser.newPage();
      await logIn(page, nginx.url, 'carol');
      await runScript(page, 'logPrint("ready"); const line = await input(); logPrint("got " + line); line');
      await page.locator('#log li', { hasText: 'ready' }).waitFor();
      expect(await page.locator('#transport').textContent()).to.equal(SHOWN.sse);
      const line = page.getByRole('textbox', { name: 'Input' });
      await line.fill('through the proxy');
      await line.press('Enter');
      await waitForStatus(page, 'completed');
      expect(await logLines(page)).to.eql(['INFO ready', 'INFO got through the proxy']);
      expect(await page.locator('#result-value').textContent()).to.equal('"through the proxy"');
      await page.close();
      expect(takePageErrors().map(String), 'uncaught errors in the page').to.eql([]);
    } finally {
      await nginx.close();
    }
  });
});
