import { expect } from 'chai';
import { IMPORT_STAND_IN, prepareProgram } from '../worker/program.js';

const plain = (source: string) => ({ source, callsImport: false });

describe('prepareProgram', () => {
  it('leaves a plain script as it is', () => {
    expect(prepareProgram('logPrint("Test"); 1+2')).to.eql(plain('logPrint("Test"); 1+2'));
  });

  it('leaves a script whose await is inside an async function as it is', () => {
    const source = '(async () => { await sleep(1); return 2 })()';
    expect(prepareProgram(source)).to.eql(plain(source));
  });

  it('wraps top-level await in an async function that returns the last expression', () => {
    expect(prepareProgram('await sleep(10); 5')).to.eql(plain('(async () => {await sleep(10); return (5);\n})()'));
  });

  it('wraps top-level await without a trailing expression and returns nothing', () => {
    expect(prepareProgram('let x = await sleep(1);')).to.eql(plain('(async () => {let x = await sleep(1);\n})()'));
  });

  it('leaves a program with a syntax error for V8 to report', () => {
    expect(prepareProgram('await (')).to.eql(plain('await ('));
    expect(prepareProgram('import (')).to.eql(plain('import ('));
  });

  it('renames every import() call to the stand-in, and nothing else that says import', () => {
    expect(prepareProgram('const s = "import(x)"; // import(y)\nimport("a").catch(() => import ( "b", { with: {} } ))')).to.eql({
      source: `const s = "import(x)"; // import(y)\n${IMPORT_STAND_IN}("a").catch(() => ${IMPORT_STAND_IN} ( "b", { with: {} } ))`,
      callsImport: true,
    });
    expect(prepareProgram('const imported = 1; imported')).to.eql(plain('const imported = 1; imported'));
  });

  it('renames import() calls in a program with top-level await, the last expression included', () => {
    expect(prepareProgram('await import("a"); [import("b"), 2]')).to.eql({
      source: `(async () => {await ${IMPORT_STAND_IN}("a"); return ([${IMPORT_STAND_IN}("b"), 2]);\n})()`,
      callsImport: true,
    });
  });
});
