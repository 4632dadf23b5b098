import { expect } from 'chai';
import { LogBuffer, type LogRecord } from '../src/log-buffer.js';

function records(from: number, to: number): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = from; i <= to; i++) out.push({ time: Date.UTC(2026, 0, 20, 10, 30, 0, i), level: 'INFO', message: `line ${i}` });
  return out;
}

describe('LogBuffer', () => {
  it('numbers entries from 1 and keeps them in order with ISO timestamps', () => {
    const buffer = new LogBuffer(10);
    buffer.append(records(1, 3));
    expect(buffer.snapshot()).to.deep.equal([
      { seq: 1, timestamp: '2026-01-20T10:30:00.001Z', level: 'INFO', message: 'line 1' },
      { seq: 2, timestamp: '2026-01-20T10:30:00.002Z', level: 'INFO', message: 'line 2' },
      { seq: 3, timestamp: '2026-01-20T10:30:00.003Z', level: 'INFO', message: 'line 3' },
    ]);
    expect(buffer.firstSeq).to.equal(1);
    expect(buffer.lastSeq).to.equal(3);
  });

  it('evicts the oldest entries past its capacity', () => {
    const buffer = new LogBuffer(3);
    buffer.append(records(1, 5));
    expect(buffer.snapshot().map((entry) => entry.seq)).to.deep.equal([3, 4, 5]);
    expect(buffer.firstSeq).to.equal(3);
  });

  it('reads after a cursor, counting exactly the entries evicted before it', () => {
    const buffer = new LogBuffer(3);
    buffer.append(records(1, 7));
    const fromStart = buffer.readAfter(0);
    expect(fromStart.missed).to.equal(4);
    expect(fromStart.entries.map((entry) => entry.seq)).to.deep.equal([5, 6, 7]);
    const fromMiddle = buffer.readAfter(5);
    expect(fromMiddle).to.deep.include({ missed: 0 });
    expect(fromMiddle.entries.map((entry) => entry.seq)).to.deep.equal([6, 7]);
    expect(buffer.readAfter(2).missed).to.equal(2);
  });

  it('reads nothing and misses nothing from the last entry or beyond it', () => {
    const buffer = new LogBuffer(3);
    buffer.append(records(1, 2));
    expect(buffer.readAfter(2)).to.deep.equal({ missed: 0, entries: [] });
    expect(buffer.readAfter(99)).to.deep.equal({ missed: 0, entries: [] });
  });

  it('reads at most `max` entries', () => {
    const buffer = new LogBuffer(10);
    buffer.append(records(1, 6));
    expect(buffer.readAfter(1, 2).entries.map((entry) => entry.seq)).to.deep.equal([2, 3]);
  });

  it("signals 'appended' once per batch and not for an empty one", () => {
    const buffer = new LogBuffer(10);
    let signals = 0;
    buffer.on('appended', () => signals++);
    buffer.append(records(1, 4));
    buffer.append([]);
    expect(signals).to.equal(1);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new LogBuffer(0)).to.throw(TypeError, 'capacity must be a positive integer');
  });
});
