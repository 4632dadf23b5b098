// The history panel: the user's executions from GET /api/executions, newest first; choosing
// one opens it (its retained log and its result).
import { call, type ExecutionSummary } from './api.js';

export class HistoryPanel {
  readonly #list: HTMLUListElement;
  readonly #open: (execId: string) => void;
  #current: string | undefined;

  constructor(list: HTMLUListElement, open: (execId: string) => void) {
    this.#list = list;
    this.#open = open;
  }

  /** Marks the execution on show. */
  select(execId: string | undefined): void {
    this.#current = execId;
    for (const button of this.#list.querySelectorAll<HTMLButtonElement>('button[data-execution-id]')) {
      button.setAttribute('aria-current', String(button.dataset.executionId === execId));
    }
  }

  async refresh(): Promise<void> {
    const res = await call<ExecutionSummary[]>('GET', '/api/executions?limit=50');
    if (res.status !== 200) return;
    this.#list.replaceChildren(...res.body.map((summary) => this.#item(summary)));
    if (res.body.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'muted';
      empty.textContent = 'No executions yet.';
      this.#list.append(empty);
    }
    this.select(this.#current);
  }

  #item(summary: ExecutionSummary): HTMLLIElement {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.executionId = summary.execution_id;
    const when = summary.started_at ?? summary.completed_at;
    const status = document.createElement('span');
    status.className = `badge badge-${summary.status}`;
    status.textContent = summary.status;
    const preview = document.createElement('span');
    preview.className = 'preview mono';
    preview.textContent = summary.program_preview;
    const time = document.createElement('span');
    time.className = 'when';
    time.textContent = when === null ? 'queued' : new Date(when).toLocaleTimeString('en-GB');
    button.append(status, preview, time);
    button.setAttribute('aria-label', `${summary.status}: ${summary.program_preview}${when === null ? '' : `, ${time.textContent}`}`);
    button.addEventListener('click', () => this.#open(summary.execution_id));
    li.append(button);
    return li;
  }
}
