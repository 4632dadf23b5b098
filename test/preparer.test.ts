// PREPARER_SOURCE: the rewrite of worker/program.ts as a long program gets it, inside an isolate,
// gives exactly what prepareProgram gives on the worker thread, and defines no global.
import { expect } from 'chai';
import ivm from 'isolated-vm';
import { PREPARER_SOURCE, prepareProgram, type PreparedProgram } from '../worker/program.js';

const PROGRAMS: readonly string[] = [
  'logPrint("Test"); 1+2',
  '(async () => { await sleep(1); return 2 })()',
  'await sleep(10); 5',
  'let x = await sleep(1);',
  'await (',
  'import (',
  'const s = "import(x)"; // import(y)\nimport("a").catch(() => import ( "b", { with: {} } ))',
  'const imported = 1; imported',
  'await import("a"); [import("b"), 2]',
  'var await = 1; await',
  'class A { import() { return import("x"); } }\nawait new A().import()',
  // Not deeper: how deep acorn can go depends on the stack of the thread it runs on.
  `${'('.repeat(300)}1${')'.repeat(300)}; await 1`,
  `${'const v = [1, "s", { a: 2 }];\n'.repeat(20_000)}logPrint(import("m")); await sleep(1); v`,
];

describe('PREPARER_SOURCE', () => {
  let isolate: ivm.Isolate;
  let context: ivm.Context;
  let prepare: ivm.Reference<(original: string) => PreparedProgram>;

  before(async () => {
    isolate = new ivm.Isolate({ memoryLimit: 128 });
    context = await isolate.createContext();
    const script = await isolate.compileScript(PREPARER_SOURCE);
    prepare = await script.run(context, { reference: true }) as ivm.Reference<(original: string) => PreparedProgram>;
  });

  after(() => {
    isolate.dispose();
  });

  it('rewrites each program inside an isolate exactly as prepareProgram does on the thread', async () => {
    for (const program of PROGRAMS) {
      const inside = await prepare.apply(undefined, [program], { result: { copy: true } }) as PreparedProgram;
      expect(inside, program.slice(0, 80)).to.eql(prepareProgram(program));
    }
  });

  it('leaves the global object of its context as it was', async () => {
    const fresh = await isolate.createContext();
    const names = (target: ivm.Context): Promise<string[]> => target.eval('Object.getOwnPropertyNames(globalThis)', { copy: true }) as Promise<string[]>;
    expect(await names(context)).to.eql(await names(fresh));
  });
});
