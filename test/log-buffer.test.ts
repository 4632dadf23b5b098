import { expect } from 'chai';
import { entryBytes, LogBuffer, type LogRecord } from '../src/log-buffer.js';
import { seededRandom } from './helpers/random.js';

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

/** Sets `message` to `chars` characters (entryBytes() counts 2 a character plus 420). */
function sized(from: number, to: number, chars: number): LogRecord[] {
  return records(from, to).map((record) => ({ ...record, message: record.message.padEnd(chars, '.') }));
}

/** Lets the trim that readers moving through the tail scheduled run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('LogBuffer readers', () => {
  it('counts an entry as 2 bytes a character of its message plus 420', () => {
    expect(entryBytes({ seq: 1, timestamp: '2026-01-20T10:30:00.001Z', level: 'INFO', message: 'x'.repeat(100) })).to.equal(620);
  });

  it('keeps the entries a reader that was in when they arrived has not read, however far past the ring', () => {
    const buffer = new LogBuffer(3);
    const reader = buffer.reader(0);
    buffer.append(records(1, 10));
    expect(reader.holding).to.equal(true);
    expect({ size: buffer.size, firstSeq: buffer.firstSeq, heldEntries: buffer.heldEntries, heldFrom: buffer.heldFrom }).to.eql({
      size: 3,
      firstSeq: 8,
      heldEntries: 7,
      heldFrom: 1,
    });
    expect(buffer.heldBytes).to.equal(records(1, 7).reduce((sum, record) => sum + 2 * record.message.length + 420, 0));
    const { missed, entries } = reader.read();
    expect(missed).to.equal(0);
    expect(entries.map((entry) => entry.message)).to.eql(records(1, 10).map((record) => record.message));
    // Anyone else sees the ring, and the gap before it, as before.
    expect(buffer.readAfter(0).missed).to.equal(7);
    expect(buffer.reader(0).read()).to.deep.include({ missed: 7 });
    expect(buffer.snapshot().map((entry) => entry.seq)).to.eql([8, 9, 10]);
  });

  it('reads at most `max` entries and none past `through`, without moving the cursor', () => {
    const buffer = new LogBuffer(2);
    const reader = buffer.reader(0);
    buffer.append(records(1, 6));
    expect(reader.read(3).entries.map((entry) => entry.seq)).to.eql([1, 2, 3]);
    expect(reader.read(10, 4).entries.map((entry) => entry.seq)).to.eql([1, 2, 3, 4]);
    reader.advance(5);
    expect(reader.read(10, 4)).to.eql({ missed: 0, entries: [] });
    expect(reader.read().entries.map((entry) => entry.seq)).to.eql([6]);
  });

  it('keeps the tail once for every reader and frees it as the slowest passes it', async () => {
    const buffer = new LogBuffer(2);
    const fast = buffer.reader(0);
    const slow = buffer.reader(0);
    buffer.append(records(1, 8));
    expect(buffer.heldEntries).to.equal(6);
    fast.advance(8);
    await nextTurn();
    expect(buffer.heldEntries, 'while the slow reader still needs all of it').to.equal(6);
    slow.advance(4);
    await nextTurn();
    expect({ heldEntries: buffer.heldEntries, heldFrom: buffer.heldFrom }).to.eql({ heldEntries: 2, heldFrom: 5 });
    expect(buffer.heldBytes).to.equal(records(5, 6).reduce((sum, record) => sum + 2 * record.message.length + 420, 0));
    expect(slow.read().entries.map((entry) => entry.seq)).to.eql([5, 6, 7, 8]);
    slow.advance(8);
    await nextTurn();
    expect({ heldEntries: buffer.heldEntries, heldBytes: buffer.heldBytes, holders: buffer.holders }).to.eql({ heldEntries: 0, heldBytes: 0, holders: 2 });
    fast.close();
    slow.close();
    expect(buffer.holders).to.equal(0);
  });

  it('releases a reader at the append that puts it more than the budget behind the ring; it then reads exact gaps and the others everything', () => {
    // Entries of 40 characters count 500 bytes: the budget is two of them.
    const buffer = new LogBuffer(2, 1000);
    const behind = buffer.reader(0);
    const keepingUp = buffer.reader(0);
    buffer.append(sized(1, 4, 40));
    expect({ behind: behind.holding, heldEntries: buffer.heldEntries, heldBytes: buffer.heldBytes }).to.eql({ behind: true, heldEntries: 2, heldBytes: 1000 });
    keepingUp.advance(4);
    buffer.append(sized(5, 5, 40));
    expect({ behind: behind.holding, keepingUp: keepingUp.holding }).to.eql({ behind: false, keepingUp: true });
    expect({ heldEntries: buffer.heldEntries, heldBytes: buffer.heldBytes }, 'what only the released reader needed').to.eql({ heldEntries: 0, heldBytes: 0 });
    const { missed, entries } = behind.read();
    expect({ missed, seqs: entries.map((entry) => entry.seq) }).to.eql({ missed: 3, seqs: [4, 5] });
    expect(keepingUp.read().entries.map((entry) => entry.seq)).to.eql([5]);
  });

  it('never holds more than the budget after an append, whatever the readers do', () => {
    const budget = 5000;
    const buffer = new LogBuffer(3, budget);
    const readers = [buffer.reader(0), buffer.reader(0), buffer.reader(0)];
    const next = readers.map(() => 1);
    const random = seededRandom(7);
    const bytes: number[] = [];
    let seq = 0;
    let releases = 0;
    for (let round = 0; round < 3000; round++) {
      const count = 1 + random(8);
      const batch = sized(seq + 1, seq + count, random(30));
      for (const record of batch) bytes.push(2 * record.message.length + 420);
      buffer.append(batch);
      seq += count;
      // Exactly the entries past the ring that the slowest holder has not passed.
      const slowest = Math.min(...readers.filter((reader) => reader.holding).map((reader) => reader.cursor));
      const tail = Math.max(0, buffer.firstSeq - 1 - slowest);
      const tailBytes = bytes.slice(buffer.firstSeq - 1 - tail, buffer.firstSeq - 1).reduce((sum, n) => sum + n, 0);
      expect({ heldEntries: buffer.heldEntries, heldBytes: buffer.heldBytes }, `held after append ${round}`).to.eql({ heldEntries: tail, heldBytes: tailBytes });
      expect(buffer.heldBytes, `held after append ${round}`).to.be.at.most(budget);
      readers.forEach((reader, i) => {
        // Reader 0 reads a little now and then, so it goes past the budget again and again.
        const { missed, entries } = reader.read(i === 0 ? random(3) : random(12));
        if (missed > 0) {
          expect(reader.holding, `reader ${i} is told of a gap only when released`).to.equal(false);
          if (i === 0) releases++;
          next[i]! += missed;
          reader.advance(reader.cursor + missed);
        }
        for (const entry of entries) {
          expect(entry.seq, `reader ${i}`).to.equal(next[i]);
          next[i]!++;
          reader.advance(entry.seq);
        }
      });
    }
    expect(releases, 'gaps of the slow reader').to.be.above(100);
  });

  it('frees at once what only a released reader needed; it reads the ring, then holds again once its cursor is back in it', () => {
    const buffer = new LogBuffer(3);
    const reader = buffer.reader(0);
    buffer.append(records(1, 6));
    expect(buffer.heldEntries).to.equal(3);
    reader.release();
    expect({ holding: reader.holding, heldEntries: buffer.heldEntries, heldBytes: buffer.heldBytes }).to.eql({ holding: false, heldEntries: 0, heldBytes: 0 });
    expect(reader.read()).to.deep.include({ missed: 3 });
    reader.advance(3);
    expect(reader.holding, 'back at the start of the ring').to.equal(true);
    buffer.append(records(7, 9));
    expect(reader.read().entries.map((entry) => entry.seq)).to.eql([4, 5, 6, 7, 8, 9]);
  });

  it('starts a late reader behind the ring without a hold, so it gets the gap, and holds from the ring on', () => {
    const buffer = new LogBuffer(3);
    buffer.append(records(1, 7));
    const late = buffer.reader(0);
    expect(late.holding).to.equal(false);
    const { missed, entries } = late.read();
    expect({ missed, seqs: entries.map((entry) => entry.seq) }).to.eql({ missed: 4, seqs: [5, 6, 7] });
    late.advance(4);
    expect(late.holding).to.equal(true);
    buffer.append(records(8, 12));
    expect(late.read()).to.deep.include({ missed: 0 });
    expect(late.read().entries.map((entry) => entry.seq)).to.eql([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('clamps a reader that starts past the newest entry to it', () => {
    const buffer = new LogBuffer(3);
    buffer.append(records(1, 2));
    const reader = buffer.reader(99);
    expect(reader.cursor).to.equal(2);
    buffer.append(records(3, 3));
    expect(reader.read().entries.map((entry) => entry.seq)).to.eql([3]);
  });

  it('never holds for a closed reader, not even back in the ring', () => {
    const buffer = new LogBuffer(3);
    const reader = buffer.reader(0);
    reader.close();
    reader.advance(0);
    buffer.append(records(1, 5));
    expect({ holding: reader.holding, holders: buffer.holders, heldEntries: buffer.heldEntries }).to.eql({ holding: false, holders: 0, heldEntries: 0 });
  });

  it('frees the tail of a long burst piece by piece as a reader works through it', async () => {
    const buffer = new LogBuffer(100);
    const reader = buffer.reader(0);
    buffer.append(records(1, 10_000));
    expect(buffer.heldEntries).to.equal(9900);
    let next = 1;
    while (next <= 10_000) {
      const { missed, entries } = reader.read(256);
      expect(missed).to.equal(0);
      for (const entry of entries) expect(entry.seq).to.equal(next++);
      reader.advance(entries.at(-1)!.seq);
      await nextTurn();
      expect(buffer.heldEntries).to.equal(Math.max(0, 9900 - reader.cursor));
    }
    expect(buffer.heldBytes).to.equal(0);
  });

  it('evicts its oldest entries on demand, from the tail kept for a reader, then from the ring; readers get exact gaps and the sink every change', () => {
    const reported: number[] = [];
    // Entries of 40 characters count 500 bytes.
    const buffer = new LogBuffer(3, Number.POSITIVE_INFINITY, { resize: (bytes) => reported.push(bytes) });
    const slow = buffer.reader(0);
    buffer.append(sized(1, 5, 40));
    expect({ held: buffer.heldEntries, kept: buffer.keptBytes, reported }).to.eql({ held: 2, kept: 2500, reported: [2500] });
    expect(buffer.evictOldest(1)).to.eql({ entries: 1, bytes: 500 });
    expect(buffer.evictOldest(600)).to.eql({ entries: 2, bytes: 1000 });
    expect({ first: buffer.firstSeq, heldFrom: buffer.heldFrom, size: buffer.size, kept: buffer.keptBytes, reported }).to.eql({ first: 4, heldFrom: 4, size: 2, kept: 1000, reported: [2500, 2000, 1000] });
    const { missed, entries } = slow.read();
    expect({ missed, seqs: entries.map((entry) => entry.seq) }).to.eql({ missed: 3, seqs: [4, 5] });
    slow.advance(5);
    // The ring goes on where it was: entries 6 and 7 take the slots of 3 and 4.
    buffer.append(sized(6, 7, 40));
    expect({ seqs: buffer.snapshot().map((entry) => entry.seq), kept: buffer.keptBytes }).to.eql({ seqs: [5, 6, 7], kept: 1500 });
    expect(buffer.evictOldest(Number.POSITIVE_INFINITY)).to.eql({ entries: 3, bytes: 1500 });
    expect({ first: buffer.firstSeq, last: buffer.lastSeq, snapshot: buffer.snapshot(), kept: buffer.keptBytes }).to.eql({ first: 8, last: 7, snapshot: [], kept: 0 });
    expect(buffer.readAfter(5)).to.eql({ missed: 2, entries: [] });
    expect(buffer.evictOldest(1)).to.eql({ entries: 0, bytes: 0 });
    buffer.append(sized(8, 8, 40));
    expect(buffer.snapshot().map((entry) => entry.seq)).to.eql([8]);
    expect(reported).to.eql([2500, 2000, 1000, 1500, 0, 500]);
  });

  it('rejects a lag budget that is not a number of bytes', () => {
    expect(() => new LogBuffer(10, Number.NaN)).to.throw(TypeError, 'lagBudget must be a number of bytes, at least 0');
    expect(() => new LogBuffer(10, -1)).to.throw(TypeError, 'lagBudget must be a number of bytes, at least 0');
  });
});
