/**
 * Room for the tokens: a splitter between the token view and the views area (drag it, or focus it and use the
 * arrow keys, Home and End), and a legend that folds to one line. Both are remembered with the webview state.
 * Heights are set through CSSOM (style.setProperty), which the Content-Security-Policy allows.
 */
import type { PanelLayout } from '../src/protocol';

const STEP = 24;
/** The views area is kept between these (px); the token view takes the rest. */
const MIN_VIEWS = 120;
const MIN_TOKENS = 80;

export interface LayoutEvents {
  changed(layout: PanelLayout): void;
}

export class LayoutControls {
  private viewsHeight: number | undefined;
  private legendFolded: boolean;

  constructor(
    private readonly splitter: HTMLElement,
    private readonly layoutArea: HTMLElement,
    private readonly views: HTMLElement,
    private readonly legend: HTMLElement,
    private readonly foldButton: HTMLButtonElement,
    private readonly events: LayoutEvents,
    restored: PanelLayout | undefined,
  ) {
    this.legendFolded = restored?.legendFolded ?? true;
    splitter.setAttribute('role', 'separator');
    splitter.setAttribute('aria-orientation', 'horizontal');
    splitter.setAttribute('aria-label', 'Resize: the token view above, the views below (arrow keys, Home, End)');
    splitter.tabIndex = 0;
    splitter.addEventListener('pointerdown', (e) => this.drag(e));
    splitter.addEventListener('keydown', (e) => this.key(e));
    foldButton.addEventListener('click', () => this.setLegendFolded(!this.legendFolded, true));
    if (restored?.viewsHeight !== undefined) this.setViewsHeight(restored.viewsHeight, false);
    this.setLegendFolded(this.legendFolded, false);
    window.addEventListener('resize', () => this.viewsHeight !== undefined && this.setViewsHeight(this.viewsHeight, false));
  }

  get layout(): PanelLayout {
    return { viewsHeight: this.viewsHeight, legendFolded: this.legendFolded };
  }

  /** The largest views height that leaves the token view (which starts where #layout does) MIN_TOKENS px. */
  private maxViews(): number {
    const layoutTop = this.layoutArea.getBoundingClientRect().top;
    return Math.max(MIN_VIEWS, window.innerHeight - layoutTop - MIN_TOKENS - this.splitter.offsetHeight - 16);
  }

  private current(): number {
    return this.viewsHeight ?? this.views.getBoundingClientRect().height;
  }

  setViewsHeight(px: number, notify = true): void {
    const h = Math.round(Math.min(this.maxViews(), Math.max(MIN_VIEWS, px)));
    this.viewsHeight = h;
    document.body.style.setProperty('--views-height', `${h}px`);
    this.splitter.setAttribute('aria-valuenow', String(h));
    this.splitter.setAttribute('aria-valuemin', String(MIN_VIEWS));
    this.splitter.setAttribute('aria-valuemax', String(Math.round(this.maxViews())));
    if (notify) this.events.changed(this.layout);
  }

  setLegendFolded(folded: boolean, notify = true): void {
    this.legendFolded = folded;
    this.legend.classList.toggle('legend-folded', folded);
    this.foldButton.setAttribute('aria-expanded', String(!folded));
    this.foldButton.textContent = folded ? 'More' : 'Less';
    this.foldButton.title = folded ? 'Show the whole legend' : 'Fold the legend to one line';
    if (notify) this.events.changed(this.layout);
  }

  private drag(e: PointerEvent): void {
    e.preventDefault();
    const startY = e.clientY;
    const start = this.current();
    this.splitter.setPointerCapture(e.pointerId);
    this.splitter.classList.add('dragging');
    const move = (m: PointerEvent) => this.setViewsHeight(start + (startY - m.clientY), false);
    const up = () => {
      this.splitter.removeEventListener('pointermove', move);
      this.splitter.removeEventListener('pointerup', up);
      this.splitter.removeEventListener('pointercancel', up);
      this.splitter.classList.remove('dragging');
      this.events.changed(this.layout);
    };
    this.splitter.addEventListener('pointermove', move);
    this.splitter.addEventListener('pointerup', up);
    this.splitter.addEventListener('pointercancel', up);
  }

  private key(e: KeyboardEvent): void {
    const h = this.current();
    const next =
      e.key === 'ArrowUp' ? h + STEP : e.key === 'ArrowDown' ? h - STEP : e.key === 'Home' ? MIN_VIEWS : e.key === 'End' ? this.maxViews() : undefined;
    if (next === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    this.setViewsHeight(next);
  }
}
