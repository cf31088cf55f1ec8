/**
 * The token view (#tokens): every analysed token as <span class="tok" data-pos="i"> in document order.
 * The DOM is built once per document; a new attention row only rewrites the custom properties of the keys
 * it covers (and clears those the previous row covered), so an 8k-token document stays responsive.
 */
import type { TokenInfo } from '../src/protocol';
import { cssIntensity, intensity, rowMax } from './colors';

export interface TokenViewEvents {
  /** The user clicked a token or moved the selection with the keyboard. */
  select(position: number): void;
}

export class TokenView {
  private spans: HTMLSpanElement[] = [];
  private query = -1;
  /** Keys 0..styledCount-1 carry weight properties from the last row. */
  private styledCount = 0;
  private revealed = -1;

  constructor(
    private readonly root: HTMLElement,
    private readonly events: TokenViewEvents,
  ) {
    root.tabIndex = 0;
    root.setAttribute('role', 'group');
    root.setAttribute('aria-label', 'Document tokens: click one, or use Left and Right, to see where it attends');
    root.addEventListener('click', (e) => {
      const pos = this.positionOf(e.target);
      if (pos !== undefined) this.events.select(pos);
    });
    root.addEventListener('keydown', (e) => this.onKey(e));
  }

  get length(): number {
    return this.spans.length;
  }

  get selected(): number {
    return this.query;
  }

  /** Rebuilds the DOM for a new document. Text goes through textContent only: document text is untrusted. */
  render(tokens: readonly TokenInfo[]): void {
    const fragment = document.createDocumentFragment();
    const spans: HTMLSpanElement[] = new Array<HTMLSpanElement>(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const span = document.createElement('span');
      span.className = 'tok';
      span.dataset.pos = String(i);
      span.textContent = tokens[i]!.text;
      spans[i] = span;
      fragment.append(span);
    }
    this.spans = spans;
    this.query = -1;
    this.styledCount = 0;
    this.revealed = -1;
    this.root.replaceChildren(fragment);
    this.root.removeAttribute('aria-activedescendant');
  }

  /** Marks the query token and dims the tokens after it, touching only the tokens whose state changes. */
  setQuery(position: number): void {
    if (position < 0 || position >= this.spans.length || position === this.query) return;
    const previous = this.query;
    if (previous >= 0) {
      const old = this.spans[previous]!;
      old.classList.remove('selected');
      old.removeAttribute('id');
      old.removeAttribute('aria-selected');
    }
    if (previous < 0) {
      for (let i = position + 1; i < this.spans.length; i++) this.spans[i]!.classList.add('future');
    } else if (position > previous) {
      for (let i = previous + 1; i <= position; i++) this.spans[i]!.classList.remove('future');
    } else {
      for (let i = position + 1; i <= previous; i++) this.spans[i]!.classList.add('future');
    }
    const span = this.spans[position]!;
    span.classList.remove('future');
    span.classList.add('selected');
    span.id = 'query-token';
    span.setAttribute('aria-selected', 'true');
    this.root.setAttribute('aria-activedescendant', span.id);
    this.query = position;
  }

  /**
   * Colours keys 0..n-1: `own` (the model's normaliser) as the background channel, `other` as the overlay
   * channel. Whether the overlay channel shows is a body class, so toggling it needs no restyling.
   */
  setWeights(own: readonly number[], other: readonly number[]): void {
    const count = Math.min(this.spans.length, Math.max(own.length, other.length));
    const ownMax = rowMax(own, count);
    const otherMax = rowMax(other, count);
    for (let i = 0; i < count; i++) {
      const style = this.spans[i]!.style;
      style.setProperty('--w-own', cssIntensity(intensity(own[i] ?? 0, ownMax)));
      style.setProperty('--w-other', cssIntensity(intensity(other[i] ?? 0, otherMax)));
    }
    this.clearFrom(count);
    this.styledCount = count;
  }

  clearWeights(): void {
    this.clearFrom(0);
    this.styledCount = 0;
  }

  /** Briefly marks a token the user asked to reveal (from the top-k list) and scrolls it into view. */
  reveal(position: number): void {
    if (this.revealed >= 0) this.spans[this.revealed]?.classList.remove('revealed');
    const span = this.spans[position];
    if (!span) return;
    span.classList.add('revealed');
    this.revealed = position;
    span.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  scrollToQuery(): void {
    this.spans[this.query]?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  private clearFrom(start: number): void {
    for (let i = start; i < this.styledCount; i++) {
      const style = this.spans[i]!.style;
      style.removeProperty('--w-own');
      style.removeProperty('--w-other');
    }
  }

  private positionOf(target: EventTarget | null): number | undefined {
    if (!(target instanceof HTMLElement)) return undefined;
    const span = target.closest<HTMLElement>('span.tok');
    if (!span || !this.root.contains(span)) return undefined;
    const pos = Number(span.dataset.pos);
    return Number.isInteger(pos) ? pos : undefined;
  }

  private onKey(e: KeyboardEvent): void {
    if (this.spans.length === 0) return;
    const from = this.query < 0 ? 0 : this.query;
    let next: number;
    switch (e.key) {
      case 'ArrowLeft':
        next = this.query < 0 ? 0 : Math.max(0, from - 1);
        break;
      case 'ArrowRight':
        next = this.query < 0 ? 0 : Math.min(this.spans.length - 1, from + 1);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = this.spans.length - 1;
        break;
      default:
        return;
    }
    e.preventDefault();
    if (next === this.query) return;
    this.events.select(next);
    this.spans[next]?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }
}
