import { expect } from 'chai';
import { prepareProgram } from '../worker/program.js';

describe('prepareProgram', () => {
  it('leaves a plain script as it is', () => {
    expect(prepareProgram('logPrint("Test"); 1+2')).to.equal('logPrint("Test"); 1+2');
  });

  it('leaves a script whose await is inside an async function as it is', () => {
    const source = '(async () => { await sleep(1); return 2 })()';
    expect(prepareProgram(source)).to.equal(source);
  });

  it('wraps top-level await in an async function that returns the last expression', () => {
    expect(prepareProgram('await sleep(10); 5')).to.equal('(async () => {await sleep(10); return (5);\n})()');
  });

  it('wraps top-level await without a trailing expression and returns nothing', () => {
    expect(prepareProgram('let x = await sleep(1);')).to.equal('(async () => {let x = await sleep(1);\n})()');
  });

  it('leaves a program with a syntax error for V8 to report', () => {
    expect(prepareProgram('await (')).to.equal('await (');
  });
});
