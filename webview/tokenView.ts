/**
 * The token view (#tokens), virtualised: a document can be 32k tokens over thousands of lines, so only the lines in
 * view (plus a margin) exist in the DOM, as <div class="tok-line" data-line> rows positioned inside a sizer that
 * has the height of every line. Each token is <span class="tok" data-pos="i"> on the line where it starts; text
 * after a newline inside a token is a <span class="tok-cont" data-pos="i"> on the following line (tokenLayout.ts).
 *
 * State (query, weights, revealed token) lives here, not in the DOM: a new attention row or a new query only
 * recolours the lines that exist, so selection changes cost O(visible tokens) plus one pass for the row maxima.
 */
import type { TokenInfo } from '../src/protocol';
import { cssIntensity, intensity, rowMax } from './colors';
import { layoutTokens, tokenOnAdjacentLine, type TokenLayout } from './tokenLayout';

export interface TokenViewEvents {
  /** The user clicked a token or moved the selection with the keyboard. */
  select(position: number): void;
}

/** Lines rendered above and below the viewport, so a fast scroll or a small jump needs no re-render. */
const OVERSCAN_LINES = 30;
/** Used until the first line has been measured (14px editor font × line-height 1.5). */
const DEFAULT_LINE_HEIGHT = 21;

interface Weights {
  own: readonly number[];
  other: readonly number[];
  ownMax: number;
  otherMax: number;
  count: number;
}

export class TokenView {
  private layout: TokenLayout = { lines: [], lineOf: new Int32Array(0), columnOf: new Int32Array(0), maxColumns: 0 };
  private tokenCount = 0;
  private query = -1;
  private revealed = -1;
  private weights: Weights | undefined;
  private lineHeight = DEFAULT_LINE_HEIGHT;
  private readonly sizer = document.createElement('div');
  /** The rendered lines, by line index. */
  private readonly rendered = new Map<number, HTMLDivElement>();
  private frame = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly events: TokenViewEvents,
  ) {
    root.tabIndex = 0;
    root.setAttribute('role', 'group');
    root.setAttribute(
      'aria-label',
      'Document tokens: click one to see where it attends. Left and Right: previous and next token; Up and Down: the token above and below; Home and End: first and last token',
    );
    this.sizer.className = 'tokens-sizer';
    root.addEventListener('click', (e) => {
      const pos = this.positionOf(e.target);
      if (pos !== undefined) this.events.select(pos);
    });
    root.addEventListener('keydown', (e) => this.onKey(e));
    root.addEventListener('scroll', () => this.scheduleRender(), { passive: true });
    new ResizeObserver(() => this.scheduleRender()).observe(root);
  }

  get length(): number {
    return this.tokenCount;
  }

  get selected(): number {
    return this.query;
  }

  /** Lays out a new document and renders the lines in view. Text goes through textContent only: it is untrusted. */
  render(tokens: readonly TokenInfo[]): void {
    this.layout = layoutTokens(tokens);
    this.tokenCount = tokens.length;
    this.query = -1;
    this.revealed = -1;
    this.weights = undefined;
    this.clearRendered();
    this.root.replaceChildren(this.sizer);
    this.root.removeAttribute('aria-activedescendant');
    this.root.scrollTop = 0;
    this.renderVisible();
  }

  /** Marks the query token; tokens after it are dimmed (keys it cannot see). */
  setQuery(position: number): void {
    if (position < 0 || position >= this.tokenCount || position === this.query) return;
    this.query = position;
    this.repaint();
  }

  /**
   * Colours keys 0..n-1: `own` as the background channel, `other` as the overlay channel (the caller passes
   * softmax and SSMax). Whether the overlay shows is a body class, so toggling it needs no restyling.
   */
  setWeights(own: readonly number[], other: readonly number[]): void {
    const count = Math.min(this.tokenCount, Math.max(own.length, other.length));
    this.weights = { own, other, ownMax: rowMax(own, count), otherMax: rowMax(other, count), count };
    this.repaint();
  }

  clearWeights(): void {
    this.weights = undefined;
    this.repaint();
  }

  /** Briefly marks a token the user asked to reveal (from the top-k list) and scrolls it into view. */
  reveal(position: number): void {
    if (position < 0 || position >= this.tokenCount) return;
    this.revealed = position;
    this.scrollToPosition(position);
    this.repaint();
  }

  scrollToQuery(): void {
    if (this.query >= 0) this.scrollToPosition(this.query);
  }

  /** Scrolls the least needed to bring a token's line into view (and, once rendered, its column). */
  scrollToPosition(position: number): void {
    const line = this.layout.lineOf[position];
    if (line === undefined) return;
    const top = line * this.lineHeight;
    const view = this.root;
    const padding = 8;
    if (top < view.scrollTop) view.scrollTop = Math.max(0, top - padding);
    else if (top + this.lineHeight > view.scrollTop + view.clientHeight - padding) view.scrollTop = top + this.lineHeight - view.clientHeight + 2 * padding;
    this.renderVisible();
    const span = this.spanOf(position);
    if (!span) return;
    // keep the starts of lines in view whenever the token fits without scrolling sideways (a token at the end of a
    // line used to shift every line left by a few characters)
    const right = span.getBoundingClientRect().right - view.getBoundingClientRect().left + view.scrollLeft;
    if (right <= view.clientWidth - padding) view.scrollLeft = 0;
    else span.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  private scheduleRender(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.renderVisible();
    });
  }

  /** Creates the lines that came into view and removes those that left it. */
  private renderVisible(): void {
    const lines = this.layout.lines;
    this.sizer.style.height = `${lines.length * this.lineHeight}px`;
    this.sizer.style.width = `${this.layout.maxColumns}ch`;
    const first = Math.max(0, Math.floor(this.root.scrollTop / this.lineHeight) - OVERSCAN_LINES);
    const visibleLines = Math.ceil((this.root.clientHeight || 600) / this.lineHeight);
    const last = Math.min(lines.length - 1, first + visibleLines + 2 * OVERSCAN_LINES);
    for (const [index, el] of this.rendered) {
      if (index < first || index > last) {
        el.remove();
        this.rendered.delete(index);
      }
    }
    const fragment = document.createDocumentFragment();
    for (let index = first; index <= last; index++) {
      if (this.rendered.has(index)) continue;
      const el = this.createLine(index);
      this.rendered.set(index, el);
      fragment.append(el);
    }
    this.sizer.append(fragment);
    this.measureLineHeight();
  }

  /** The editor font (and so the line height) comes from the theme; measure a rendered line rather than assume. */
  private measureLineHeight(): void {
    const sample = this.rendered.values().next().value;
    if (!sample) return;
    const measured = sample.getBoundingClientRect().height;
    if (measured > 0 && Math.abs(measured - this.lineHeight) > 0.01) {
      this.lineHeight = measured;
      this.clearRendered();
      this.renderVisible();
    }
  }

  private createLine(index: number): HTMLDivElement {
    const el = document.createElement('div');
    el.className = 'tok-line';
    el.dataset.line = String(index);
    el.style.top = `${index * this.lineHeight}px`;
    for (const piece of this.layout.lines[index]) {
      const span = document.createElement('span');
      span.className = piece.continuation ? 'tok-cont' : 'tok';
      span.dataset.pos = String(piece.position);
      span.textContent = piece.text;
      this.paintSpan(span, piece.position);
      el.append(span);
    }
    return el;
  }

  private clearRendered(): void {
    for (const el of this.rendered.values()) el.remove();
    this.rendered.clear();
  }

  /** Re-applies the state to the rendered lines only. */
  private repaint(): void {
    for (const line of this.rendered.values()) {
      for (const child of Array.from(line.children)) this.paintSpan(child as HTMLSpanElement, Number((child as HTMLElement).dataset.pos));
    }
    const selected = this.spanOf(this.query);
    if (selected) this.root.setAttribute('aria-activedescendant', selected.id);
    else this.root.removeAttribute('aria-activedescendant');
  }

  private paintSpan(span: HTMLSpanElement, position: number): void {
    const main = span.classList.contains('tok');
    const isQuery = position === this.query;
    span.classList.toggle('future', this.query >= 0 && position > this.query);
    span.classList.toggle('selected', isQuery);
    span.classList.toggle('revealed', position === this.revealed);
    if (main && isQuery) {
      span.id = 'query-token';
      span.setAttribute('aria-selected', 'true');
    } else if (span.id) {
      span.removeAttribute('id');
      span.removeAttribute('aria-selected');
    }
    const w = this.weights;
    const style = span.style;
    if (w && position < w.count) {
      style.setProperty('--w-own', cssIntensity(intensity(w.own[position] ?? 0, w.ownMax)));
      style.setProperty('--w-other', cssIntensity(intensity(w.other[position] ?? 0, w.otherMax)));
    } else if (style.length) {
      style.removeProperty('--w-own');
      style.removeProperty('--w-other');
    }
  }

  private spanOf(position: number): HTMLElement | undefined {
    if (position < 0) return undefined;
    const line = this.rendered.get(this.layout.lineOf[position] ?? -1);
    return line?.querySelector<HTMLElement>(`span.tok[data-pos="${position}"]`) ?? undefined;
  }

  private positionOf(target: EventTarget | null): number | undefined {
    if (!(target instanceof HTMLElement)) return undefined;
    const span = target.closest<HTMLElement>('span.tok, span.tok-cont');
    if (!span || !this.root.contains(span)) return undefined;
    const pos = Number(span.dataset.pos);
    return Number.isInteger(pos) ? pos : undefined;
  }

  private onKey(e: KeyboardEvent): void {
    if (this.tokenCount === 0 || e.altKey || e.ctrlKey || e.metaKey) return;
    const from = this.query < 0 ? 0 : this.query;
    let next: number;
    switch (e.key) {
      case 'ArrowLeft':
        next = this.query < 0 ? 0 : Math.max(0, from - 1);
        break;
      case 'ArrowRight':
        next = this.query < 0 ? 0 : Math.min(this.tokenCount - 1, from + 1);
        break;
      case 'ArrowUp':
        next = tokenOnAdjacentLine(this.layout, from, -1);
        break;
      case 'ArrowDown':
        next = tokenOnAdjacentLine(this.layout, from, 1);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = this.tokenCount - 1;
        break;
      default:
        return;
    }
    e.preventDefault();
    if (next === this.query) return;
    this.events.select(next);
    this.scrollToPosition(next);
  }
}
