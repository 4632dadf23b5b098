// Builds the web UI into dist/public: ui/main.ts and what it imports (CodeMirror included)
// bundled by esbuild into app.js, ui/style.css into app.css, and ui/index.html copied.
// Type-checking is tsc's job (`tsc -p ui/tsconfig.json`, run before this by `npm run build`).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = `${root}dist/public`;

await mkdir(out, { recursive: true });
await build({
  entryPoints: [{ in: `${root}ui/main.ts`, out: 'app' }, { in: `${root}ui/style.css`, out: 'app' }],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: 'es2022',
  outdir: out,
  logLevel: 'warning',
});
await copyFile(`${root}ui/index.html`, `${out}/index.html`);
