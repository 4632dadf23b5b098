// The script editor: CodeMirror 6 with JavaScript highlighting; Ctrl/Cmd+Enter runs.
import { javascript } from '@codemirror/lang-javascript';
import { keymap } from '@codemirror/view';
import { EditorView, basicSetup } from 'codemirror';
import { Prec } from '@codemirror/state';

export const EXAMPLE = `// logPrint, console.*, progress(percent, message) and await sleep(ms) are available.
for (let i = 1; i <= 5; i++) {
  logPrint("step", i);
  progress(i * 20, "step " + i);
  await sleep(200);
}
1 + 2`;

export interface ScriptEditor {
  text(): string;
  setText(text: string): void;
  focus(): void;
}

export function createEditor(parent: HTMLElement, onRun: () => void): ScriptEditor {
  const run = (): boolean => {
    onRun();
    return true;
  };
  const view = new EditorView({
    doc: EXAMPLE,
    parent,
    extensions: [
      // Before basicSetup's own Mod-Enter (insert a blank line).
      Prec.highest(keymap.of([{ key: 'Mod-Enter', run }])),
      basicSetup,
      javascript(),
      EditorView.contentAttributes.of({ 'aria-label': 'Script editor' }),
      EditorView.lineWrapping,
    ],
  });
  return {
    text: () => view.state.doc.toString(),
    setText: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    focus: () => view.focus(),
  };
}
