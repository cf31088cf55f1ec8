/**
 * The numbers beside the token view: focus statistics for both normalisers (#stats, cells marked with
 * data-stat) and the top-k attended keys (#topk, one <li data-pos> per key).
 */
import type { AttendedToken, AttentionPayload, Normaliser } from '../src/protocol';
import { NORMALISER_NAME, formatEntropy, formatWeight, viewName, visibleTokenText } from './format';
import { required } from './dom';

const NORMALISERS: readonly Normaliser[] = ['softmax', 'ssmax'];

/** Builds the stats table once; `show` fills it. Cells keep the exact value in data-value. */
export class StatsView {
  private readonly cells = new Map<string, HTMLElement>();
  private readonly heads = new Map<Normaliser, HTMLElement>();

  constructor(root: HTMLElement) {
    const n = document.createElement('p');
    n.className = 'stats-n';
    n.append('Keys seen (n): ');
    n.append(this.cell('n'));

    const table = document.createElement('table');
    table.className = 'stats-table';
    const head = table.createTHead().insertRow();
    head.append(th(''));
    for (const norm of NORMALISERS) {
      const cell = th(NORMALISER_NAME[norm]);
      cell.dataset.normaliser = norm;
      this.heads.set(norm, cell);
      head.append(cell);
    }
    const body = table.createTBody();
    const rows: [string, string, string][] = [
      ['Max weight', 'max', 'The largest weight the query gives any key'],
      ['Entropy (nats)', 'entropy', 'Shannon entropy of the weights'],
      ['Entropy ÷ ln n', 'entropy-norm', '1 = uniform over the keys; near 0 = focused'],
    ];
    for (const [label, key, title] of rows) {
      const row = body.insertRow();
      const header = th(label);
      header.scope = 'row';
      header.title = title;
      row.append(header);
      for (const norm of NORMALISERS) row.insertCell().append(this.cell(`${norm}-${key}`));
    }
    root.replaceChildren(n, table);
  }

  /** Marks which column is the model's own normaliser. */
  setOwn(own: Normaliser): void {
    for (const norm of NORMALISERS) {
      const cell = required(this.heads.get(norm), `the ${norm} column head`);
      const role = document.createElement('span');
      role.className = 'stats-role';
      role.textContent = norm === own ? "model's own" : 'counterfactual';
      cell.replaceChildren(viewName(norm, own), role);
      cell.classList.toggle('own', norm === own);
    }
  }

  show(a: AttentionPayload): void {
    this.set('n', String(a.n), a.n);
    for (const norm of NORMALISERS) {
      const s = a.stats[norm];
      this.set(`${norm}-max`, formatWeight(s.maxWeight), s.maxWeight);
      this.set(`${norm}-entropy`, formatEntropy(s.entropy), s.entropy);
      this.set(`${norm}-entropy-norm`, formatEntropy(s.normalisedEntropy), s.normalisedEntropy);
    }
  }

  clear(): void {
    for (const cell of this.cells.values()) {
      cell.textContent = '–';
      delete cell.dataset.value;
    }
  }

  private cell(key: string): HTMLElement {
    const el = document.createElement('span');
    el.dataset.stat = key;
    el.textContent = '–';
    this.cells.set(key, el);
    return el;
  }

  private set(key: string, text: string, value: number): void {
    const el = required(this.cells.get(key), `the ${key} cell`);
    el.textContent = text;
    el.dataset.value = String(value);
  }
}

function th(text: string): HTMLTableCellElement {
  const cell = document.createElement('th');
  cell.textContent = text;
  return cell;
}

export interface TopKEvents {
  reveal(position: number): void;
}

/** The top-k list. Rows are buttons for the keyboard; the host reveals the key in the editor. */
export class TopKView {
  private own: Normaliser = 'softmax';

  constructor(
    private readonly header: HTMLElement,
    private readonly list: HTMLElement,
    private readonly events: TopKEvents,
  ) {
    list.addEventListener('click', (e) => {
      if (!(e.target instanceof Element)) return;
      const row = e.target.closest<HTMLLIElement>('li[data-pos]');
      if (row && list.contains(row)) this.activate(row);
    });
    list.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      if (!(e.target instanceof HTMLLIElement) || !e.target.dataset.pos) return;
      e.preventDefault();
      this.activate(e.target);
    });
  }

  /** Columns are always Token, Line, Softmax, SSMax (as in the stats table); the header marks the own one. */
  setOwn(own: Normaliser): void {
    this.own = own;
    const cells = ['Token', 'Line', ...NORMALISERS.map((n) => (n === own ? `${NORMALISER_NAME[n]} (own)` : viewName(n, own)))];
    this.header.replaceChildren(
      ...cells.map((text, i) => {
        const span = document.createElement('span');
        span.textContent = text;
        if (i >= 2) span.className = `topk-weight${NORMALISERS[i - 2] === own ? ' own' : ''}`;
        return span;
      }),
    );
  }

  show(top: readonly AttendedToken[]): void {
    this.list.replaceChildren(
      ...top.map((t) => {
        const li = document.createElement('li');
        li.dataset.pos = String(t.position);
        li.tabIndex = 0;
        li.setAttribute('role', 'button');
        li.title = `Reveal token ${t.position} (line ${t.line + 1}) in the editor`;
        const text = document.createElement('code');
        text.className = 'topk-text';
        text.textContent = visibleTokenText(t.text);
        const line = document.createElement('span');
        line.className = 'topk-line';
        line.textContent = `L${t.line + 1}`;
        line.dataset.line = String(t.line + 1);
        li.append(text, line, ...NORMALISERS.map((n) => weight(n, t[n], this.own)));
        return li;
      }),
    );
  }

  clear(): void {
    this.list.replaceChildren();
  }

  private activate(row: HTMLLIElement): void {
    const pos = Number(row.dataset.pos);
    if (!Number.isInteger(pos)) return;
    for (const li of Array.from(this.list.children)) li.classList.toggle('active', li === row);
    this.events.reveal(pos);
  }
}

function weight(norm: Normaliser, value: number, ownNorm: Normaliser): HTMLElement {
  const own = norm === ownNorm;
  const el = document.createElement('span');
  el.className = `topk-weight topk-${norm}${own ? ' own' : ''}`;
  el.dataset.value = String(value);
  el.title = `${viewName(norm, ownNorm)} weight${own ? " (model's own)" : ''}`;
  el.textContent = formatWeight(value);
  return el;
}
