// The log panel. Every entry of the execution is kept in memory, but the DOM holds at most
// MAX_RENDERED lines (the newest that pass the level filter) so that 100,000 lines do not
// freeze the page; a notice says how many are not shown. New entries are drawn once per
// animation frame. Auto-scroll follows the end until the person scrolls up, and resumes
// when they scroll back to the bottom (or press "Jump to latest").
import { LEVELS, type Level, type LogEntry } from './api.js';
import { element } from './dom.js';

/** Lines kept in the DOM at most. */
export const MAX_RENDERED = 1000;

type Item = { readonly kind: 'entry'; readonly entry: LogEntry } | { readonly kind: 'gap'; readonly missed: number };

export interface LogViewElements {
  readonly list: HTMLOListElement;
  readonly hiddenNotice: HTMLElement;
  readonly count: HTMLElement;
  readonly jump: HTMLButtonElement;
  readonly filter: HTMLSelectElement;
}

function timeOf(timestamp: string): string {
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? timestamp : date.toISOString().slice(11, 23);
}

export class LogView {
  readonly #el: LogViewElements;
  #items: Item[] = [];
  #entries = 0;
  /** Items that pass the filter, and entries among them (kept up to date, never recounted per frame). */
  #visibleItems = 0;
  #visibleEntries = 0;
  #minRank = 0;
  #follow = true;
  /** Items appended since the last frame, or null when the whole list must be redrawn. */
  #pending: Item[] | null = [];
  #frame = 0;

  constructor(elements: LogViewElements) {
    this.#el = elements;
    elements.list.addEventListener('scroll', () => {
      this.#follow = this.#atBottom();
      elements.jump.hidden = this.#follow;
    });
    elements.jump.addEventListener('click', () => {
      this.#follow = true;
      elements.jump.hidden = true;
      this.#scrollToEnd();
    });
    elements.filter.addEventListener('change', () => {
      this.#minRank = LEVELS.indexOf(elements.filter.value as Level);
      this.#visibleItems = 0;
      this.#visibleEntries = 0;
      for (const item of this.#items) this.#count(item);
      this.#redraw();
    });
  }

  clear(): void {
    this.#items = [];
    this.#entries = 0;
    this.#visibleItems = 0;
    this.#visibleEntries = 0;
    this.#follow = true;
    this.#el.jump.hidden = true;
    this.#redraw();
  }

  add(entry: LogEntry): void {
    this.#push({ kind: 'entry', entry });
    this.#entries += 1;
  }

  gap(missed: number): void {
    this.#push({ kind: 'gap', missed });
  }

  #push(item: Item): void {
    this.#items.push(item);
    if (this.#count(item)) this.#pending?.push(item);
    this.#schedule();
  }

  /** Counts a visible item; true when it is visible. */
  #count(item: Item): boolean {
    if (!this.#visible(item)) return false;
    this.#visibleItems += 1;
    if (item.kind === 'entry') this.#visibleEntries += 1;
    return true;
  }

  #visible(item: Item): boolean {
    return item.kind === 'gap' || LEVELS.indexOf(item.entry.level) >= this.#minRank;
  }

  #redraw(): void {
    this.#pending = null;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#frame === 0) this.#frame = requestAnimationFrame(() => this.#draw());
  }

  #draw(): void {
    this.#frame = 0;
    const { list } = this.#el;
    const pending = this.#pending;
    this.#pending = [];
    if (pending === null || pending.length >= MAX_RENDERED) {
      // Start over with the newest lines that pass the filter.
      const newest: Item[] = [];
      for (let i = this.#items.length - 1; i >= 0 && newest.length < MAX_RENDERED; i--) {
        const item = this.#items[i]!;
        if (this.#visible(item)) newest.push(item);
      }
      list.replaceChildren(...newest.reverse().map((item) => this.#render(item)));
    } else if (pending.length > 0) {
      list.append(...pending.map((item) => this.#render(item)));
      const excess = list.childElementCount - MAX_RENDERED;
      for (let i = 0; i < excess; i++) list.firstElementChild?.remove();
    }
    this.#updateCounts();
    if (this.#follow) this.#scrollToEnd();
  }

  #updateCounts(): void {
    const notShown = this.#visibleItems - this.#el.list.childElementCount;
    this.#el.hiddenNotice.hidden = notShown <= 0;
    this.#el.hiddenNotice.textContent = notShown > 0
      ? `${notShown.toLocaleString('en')} earlier lines are not shown (the panel keeps the newest ${MAX_RENDERED.toLocaleString('en')})`
      : '';
    const filtered = this.#entries - this.#visibleEntries;
    this.#el.count.textContent = `${this.#entries.toLocaleString('en')} lines${filtered > 0 ? `, ${filtered.toLocaleString('en')} filtered out` : ''}`;
  }

  #render(item: Item): HTMLLIElement {
    const li = document.createElement('li');
    if (item.kind === 'gap') {
      li.className = 'gap';
      li.setAttribute('role', 'note');
      li.textContent = `${item.missed.toLocaleString('en')} log lines were skipped: they left the server's buffer before they could be delivered`;
      return li;
    }
    const { entry } = item;
    li.className = `entry-${entry.level}`;
    li.dataset.seq = String(entry.seq);
    const time = element('time', '', timeOf(entry.timestamp));
    time.dateTime = entry.timestamp;
    li.append(time, element('span', `level level-${entry.level}`, entry.level), element('span', 'message', entry.message));
    return li;
  }

  #atBottom(): boolean {
    const { list } = this.#el;
    return list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  }

  #scrollToEnd(): void {
    this.#el.list.scrollTop = this.#el.list.scrollHeight;
  }
}
