// The program preview of GET /api/executions: made once, the same string the whole-program fold gave.
import { expect } from 'chai';
import { Execution } from '../src/execution.js';
import { PREVIEW_CHARS, programPreview } from '../src/preview.js';

/** The preview as GET /api/executions made it before, from the whole program at every read. */
function folded(program: string): string {
  const flat = program.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 119)}…` : flat;
}

/** Every character `\s` matches: the ECMAScript WhiteSpace and LineTerminator sets. */
const WHITE = '\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';
const PAIR = '\u{1f600}';

const CASES: ReadonlyArray<[string, string]> = [
  ['the empty program', ''],
  ['only white space', ' \t\n\r '],
  ['every white space character', WHITE],
  ['1 MiB of white space', ' '.repeat(1024 * 1024)],
  ['a short program', '1+2'],
  ['white space around and inside', '  \n\tlet a = 1;\n\n  a +\u00a0\u2028 2 \r\n'],
  ['every white space character between words', `a${WHITE}b${WHITE}c${WHITE}`],
  ['a 1 MiB program of words', 'logPrint("x");\n  '.repeat(65536)],
  ['a 1 MiB program without white space', 'x'.repeat(1024 * 1024)],
  ['a long white space prefix', `${' \n'.repeat(500_000)}1 + 2`],
  ['a long white space prefix before a long program', `${'\t'.repeat(100_000)}${'ab '.repeat(1000)}`],
  ['exactly 120 folded characters', `  ${'a'.repeat(59)}  \n ${'b'.repeat(60)}  `],
  ['exactly 121 folded characters', `  ${'a'.repeat(60)}  \n ${'b'.repeat(60)}  `],
  ['exactly 120 characters with a trailing run', `${'a'.repeat(120)}${' '.repeat(1000)}`],
  ['121 characters, the 121st a folded space', `${'a'.repeat(120)} \u2028 b`],
  ['121 characters, the 120th a folded space', `${'a'.repeat(119)}\u3000\ufeffbc`],
  ['119 characters then a run', `${'a'.repeat(119)}\n\n\nb`],
  ['one character a word', 'a b c d e f g h i j k l m n o p q r s t u v w x y z '.repeat(10)],
  ['\\u00a0 and \\u2028 as the only separators', `${'word\u00a0'.repeat(30)}${'line\u2028'.repeat(30)}`],
  ['a surrogate pair as the 119th and 120th units of 128, split by the cut', `${'a'.repeat(118)}${PAIR}${'b'.repeat(8)}`],
  ['a surrogate pair as the 119th and 120th units of 122 folded, split by the cut', `  ${'a'.repeat(118)}${PAIR}  c`],
  ['a surrogate pair at the 120th and 121st units', `${'a'.repeat(119)}${PAIR}b`],
  ['a surrogate pair ending at the 120th unit, nothing after', `${'a'.repeat(118)}${PAIR}`],
  ['a program of surrogate pairs', `${PAIR} ${PAIR}\n`.repeat(100)],
  ['a lone surrogate', '\ud83d  x'],
];

describe('programPreview', () => {
  for (const [what, program] of CASES) {
    it(`folds ${what} exactly as the whole-program fold did`, () => {
      expect(programPreview(program)).to.equal(folded(program));
    });
  }

  it('matches the whole-program fold on 2,000 random programs of words, runs and surrogates', () => {
    // A fixed seed: a failure names a program that can be made again.
    let seed = 12;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const words = ['a', 'b', PAIR, '\ud83d'];
    for (let i = 0; i < 2000; i++) {
      let program = '';
      const length = random(400);
      for (let j = 0; j < length; j++) program += random(3) < 2 ? words[random(words.length)] : WHITE[random(WHITE.length)];
      expect(programPreview(program), JSON.stringify(program)).to.equal(folded(program));
    }
  });

  it('is at most PREVIEW_CHARS characters, a cut one ending in …, a surrogate pair at the cut split as before', () => {
    expect(PREVIEW_CHARS).to.equal(120);
    expect(programPreview('x'.repeat(1000))).to.equal(`${'x'.repeat(119)}…`);
    expect(programPreview(`${'a'.repeat(118)}${PAIR}b`)).to.equal(`${'a'.repeat(118)}\ud83d…`);
  });

  it('is made once, when the execution is', () => {
    const execution = new Execution('id', 'alice', `  ${'a'.repeat(200)}`, { capacity: 10, lagBudget: 0 });
    expect(Object.getOwnPropertyDescriptor(execution, 'preview')).to.eql({
      value: `${'a'.repeat(119)}…`,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  });
});
