// The history panel: the user's executions from GET /api/executions, newest first; choosing
// one opens it (its retained log and its result).
import { call, type ExecutionSummary } from './api.js';
import { element } from './dom.js';

export class HistoryPanel {
  readonly #list: HTMLUListElement;
  readonly #open: (execId: string) => void;
  #current: string | undefined;
  /** Answers of older refreshes that arrive after a newer one are dropped. */
  #requested = 0;

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

  clear(): void {
    this.#requested += 1;
    this.#current = undefined;
    this.#list.replaceChildren();
  }

  async refresh(): Promise<void> {
    const request = ++this.#requested;
    const res = await call<ExecutionSummary[]>('GET', '/api/executions?limit=50');
    if (res.status !== 200 || request !== this.#requested) return;
    this.#list.replaceChildren(...res.body.map((summary) => this.#item(summary)));
    if (res.body.length === 0) {
      this.#list.append(element('li', 'muted', 'No executions yet.'));
    }
    this.select(this.#current);
  }

  #item(summary: ExecutionSummary): HTMLLIElement {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.executionId = summary.execution_id;
    const when = summary.started_at ?? summary.completed_at;
    const time = element('span', 'when', when === null ? 'queued' : new Date(when).toLocaleTimeString('en-GB'));
    button.append(
      element('span', `badge badge-${summary.status}`, summary.status),
      element('span', 'preview mono', summary.program_preview),
      time,
    );
    button.setAttribute('aria-label', `${summary.status}: ${summary.program_preview}${when === null ? '' : `, ${time.textContent}`}`);
    button.addEventListener('click', () => this.#open(summary.execution_id));
    li.append(button);
    return li;
  }
}
