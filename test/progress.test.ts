// progress() under a flood: the worker coalesces reports (the latest wins, at most one every
// PROGRESS_INTERVAL_MS, each in its place among the entries) and counts them in the
// per-execution output caps, so a tight loop of progress() cannot flood the main thread or wake
// every subscriber once per call.
import { expect } from 'chai';
import type { Client, Json } from './helpers/client.js';
import { asObject, expectLogEntries, type ExpectedEntry } from './helpers/expectations.js';
import { getResult, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import type { SseEvent } from './helpers/sse.js';
import { expectEvents, type ExpectedEvent } from './helpers/streams.js';
import { PROGRESS_INTERVAL_MS } from '../worker/output.js';

interface Report {
  readonly percent: number;
  readonly message: string;
}

function reportOf(event: SseEvent): Report {
  const data = asObject(JSON.parse(event.data), 'progress data');
  return { percent: Number(data.percent), message: String(data.message) };
}

async function completed(client: Client, id: string, value: unknown): Promise<{ durationMs: number; logs: Json | undefined }> {
  const res = await getResult(client, id);
  const body = asObject(res.body);
  expect({ http: res.status, status: body.status, result: body.result }).to.eql({ http: 200, status: 'completed', result: { value, type: typeof value } });
  return { durationMs: Number(body.duration_ms), logs: body.logs };
}

describe('progress(): coalesced in the worker', () => {
  const server = useServer();
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('200,000 reports in a tight loop reach a live subscriber as a few, rising, at most one per interval, ending with the last', async () => {
    // The script waits 300 ms before its first report: the window in which the test subscribes.
    const id = await submit(alice, 'await sleep(300); for (let i = 1; i <= 200000; i++) progress(i / 2000, "step " + i); "looped"');
    const stream = await alice.sse(`/api/logs/${id}`);
    const events = await stream.untilDone();
    const { durationMs } = await completed(alice, id, 'looped');
    const kinds = [...new Set(events.slice(0, -1).map((event) => event.event))];
    expect(kinds, 'what came before done').to.eql(['progress']);
    expectEvents(events.slice(-2), [{ progress: 100, message: 'step 200000' }, { done: 'completed' }]);
    const reports = events.slice(0, -1).map(reportOf);
    const steps = reports.map((report, i) => {
      const step = Number(/^step (\d+)$/.exec(report.message)?.[1]);
      expect(report.percent, `report ${i + 1}: ${report.message}`).to.equal(step / 2000);
      return step;
    });
    expect(steps, 'steps, rising').to.eql([...steps].sort((a, b) => a - b));
    expect(new Set(steps).size, 'steps, each once').to.equal(steps.length);
    // One report per interval of the whole run at most, plus the last one at the end.
    expect(reports.length, `reports in a run of ${durationMs} ms`).to.be.at.most(Math.ceil(durationMs / PROGRESS_INTERVAL_MS) + 1);
  });

  it('reports between entries: each one sent comes right after the entry it followed, and the last one after the last entry', async () => {
    const id = await submit(alice, 'await sleep(300); for (let i = 1; i <= 500; i++) { logPrint("line " + i); progress(i / 5, "p" + i); } "mixed"');
    const stream = await alice.sse(`/api/logs/${id}`);
    const events = await stream.untilDone();
    await completed(alice, id, 'mixed');
    // The entries, all of them in order, and between them the reports that were sent, each
    // placed after the entry its own number names.
    const expected: ExpectedEvent[] = [];
    let reports = 0;
    let seq = 0;
    for (const event of events.slice(0, -1)) {
      if (event.event === 'progress') {
        reports++;
        const report = reportOf(event);
        expect(report.message, 'a report in its place').to.equal(`p${seq}`);
        expected.push({ progress: report.percent, message: report.message });
      } else {
        seq++;
        expected.push({ seq, message: `line ${seq}` });
      }
    }
    expected.push({ done: 'completed' });
    expectEvents(events, expected);
    expect(seq, 'entries').to.equal(500);
    expectEvents(events.slice(-3), [{ seq: 500, message: 'line 500' }, { progress: 100, message: 'p500' }, { done: 'completed' }]);
    // 500 reports in well under a few batches' time: coalesced to a handful.
    expect(reports, 'reports sent').to.be.within(1, 50);
  });
});

describe('progress(): counted in the output caps (CHARIOT_LOG_ENTRY_CAP=10)', () => {
  const server = useServer({ CHARIOT_LOG_ENTRY_CAP: '10' });
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('past the cap, reports are dropped like entries, and the final warning counts both', async () => {
    // 8 entries and 2 reports fill the cap of 10; 3 reports and 1 entry more are dropped. The
    // reports are 20 ms apart, so that none replaces another.
    const id = await submit(alice, `await sleep(300);
      for (let i = 1; i <= 8; i++) logPrint("line " + i);
      for (let i = 1; i <= 5; i++) { progress(i * 20, "p" + i); await sleep(20); }
      logPrint("end"); 1`);
    const stream = await alice.sse(`/api/logs/${id}`);
    const events = await stream.untilDone();
    const { logs } = await completed(alice, id, 1);
    const warning = '1 log entry and 3 progress reports dropped: over the per-execution cap of 10 entries or 33554432 bytes';
    const lines: ExpectedEntry[] = Array.from({ length: 8 }, (_, i) => ({ level: 'INFO', message: `line ${i + 1}` }));
    expectEvents(events, [
      ...lines.map((line, i) => ({ seq: i + 1, message: line.message })),
      { progress: 20, message: 'p1' },
      { progress: 40, message: 'p2' },
      { seq: 9, level: 'WARN', message: warning },
      { done: 'completed' },
    ]);
    expectLogEntries(logs, [...lines, { level: 'WARN', message: warning }]);
  });
});
