/**
 * The "Heads" tab (model view): headsGrid.ts for the selected token. Clicking a cell, or Enter/Space on it, asks
 * for that head in the main view; arrow keys move between cells.
 */
import type { HeadChoice, HeadsPayload, HostToWebview, ModelInfo, Normaliser } from '../../src/protocol';
import { headsGrid } from '../charts/headsGrid';
import { placeholder, type InspectorView, type IsCurrent, type ViewData } from './view';

export interface HeadsViewEvents {
  selectHead(head: HeadChoice): void;
}

export class HeadsView implements InspectorView {
  readonly id = 'heads' as const;
  readonly label = 'Heads';
  readonly element = document.createElement('div');
  private heads: HeadsPayload | undefined;
  private model: ModelInfo | undefined;
  private selectedHead: HeadChoice | undefined;
  private selectedPosition = -1;
  private chart: SVGSVGElement | undefined;

  constructor(private readonly events: HeadsViewEvents) {
    this.element.className = 'view view-heads';
    this.element.addEventListener('click', (e) => {
      const cell = cellOf(e.target);
      if (cell) this.activate(cell);
    });
    this.element.addEventListener('keydown', (e) => this.onKey(e));
    this.render();
  }

  onDocument(_doc: unknown, model: ModelInfo, sameUri: boolean): void {
    if (!sameUri) this.clear();
    this.setModel(model);
  }

  onAttention(a: { position: number }): void {
    this.setPosition(a.position);
  }

  onPosition(position: number): void {
    this.setPosition(position);
  }

  onHead(head: HeadChoice): void {
    this.setHead(head);
  }

  onMessage(msg: HostToWebview, isCurrent: IsCurrent): void {
    if (msg.type === 'heads' && isCurrent(msg.heads)) this.show(msg.heads);
    else if (msg.type === 'settings') this.setHead(msg.head);
  }

  setModel(model: ModelInfo): void {
    this.model = model;
    this.heads = undefined;
    this.render();
  }

  show(heads: HeadsPayload): void {
    this.heads = heads;
    this.render();
  }

  setHead(head: HeadChoice): void {
    this.selectedHead = head;
    // Only the highlight changes: update it in place so keyboard focus stays on the cell.
    for (const cell of Array.from(this.element.querySelectorAll<SVGGElement>('g.head-cell'))) {
      const on = Number(cell.dataset.layer) === head.layer && Number(cell.dataset.head) === head.head;
      cell.classList.toggle('head-cell-selected', on);
      cell.setAttribute('aria-pressed', String(on));
    }
  }

  /** The main view selected another token: the grid is stale until the host sends that token's cells. */
  setPosition(position: number): void {
    this.selectedPosition = position;
    if (!this.heads) this.render();
    this.element.classList.toggle('stale', !!this.heads && this.heads.position !== position);
  }

  clear(): void {
    this.heads = undefined;
    this.render();
  }

  figure(): SVGSVGElement | undefined {
    return this.chart;
  }

  data(): ViewData | undefined {
    const h = this.heads;
    if (!h) return undefined;
    return {
      title: `Every layer and head, token ${h.position}`,
      table: {
        columns: [
          'layer',
          'head',
          'maxWeight_softmax',
          'maxWeight_ssmax',
          'entropy_softmax',
          'entropy_ssmax',
          'normalisedEntropy_softmax',
          'normalisedEntropy_ssmax',
          'top1',
          'top2',
          'top3',
        ],
        rows: h.cells.map((c) => [
          c.layer,
          c.head,
          c.stats.softmax.maxWeight,
          c.stats.ssmax.maxWeight,
          c.stats.softmax.entropy,
          c.stats.ssmax.entropy,
          c.stats.softmax.normalisedEntropy,
          c.stats.ssmax.normalisedEntropy,
          c.top[0]?.position ?? '',
          c.top[1]?.position ?? '',
          c.top[2]?.position ?? '',
        ]),
      },
      meta: { position: h.position, n: h.n, ownNormaliser: this.model?.normaliser ?? null, cells: h.cells },
    };
  }

  private render(): void {
    const h = this.heads;
    const m = this.model;
    if (!h || !m) {
      this.chart = undefined;
      this.element.classList.remove('stale');
      const text =
        this.selectedPosition >= 0 ? `Waiting for every layer and head of token ${this.selectedPosition}…` : 'Select a token to see every layer and head.';
      this.element.replaceChildren(placeholder(text));
      return;
    }
    const own: Normaliser = m.normaliser;
    const head = this.selectedHead;
    this.chart = headsGrid({
      heads: h,
      layers: m.layers,
      headsPerLayer: m.heads,
      own,
      selected: head && head.head !== 'mean' ? { layer: head.layer, head: head.head } : undefined,
    });
    const caption = document.createElement('p');
    caption.className = 'view-caption';
    caption.textContent = `Token ${h.position} (n = ${h.n}). Click a cell, or press Enter on it, to show that head above; arrow keys move between cells.`;
    this.element.replaceChildren(this.chart, caption);
    this.setPosition(this.selectedPosition < 0 ? h.position : this.selectedPosition);
  }

  private activate(cell: SVGGElement): void {
    const layer = Number(cell.dataset.layer);
    const head = Number(cell.dataset.head);
    if (!Number.isInteger(layer) || !Number.isInteger(head)) return;
    this.events.selectHead({ layer, head });
  }

  private onKey(e: KeyboardEvent): void {
    const cell = cellOf(e.target);
    if (!cell || !this.model) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.activate(cell);
      return;
    }
    const moves: Record<string, [number, number]> = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    const move = moves[e.key];
    if (!move) return;
    e.preventDefault();
    e.stopPropagation();
    const layer = Math.min(this.model.layers - 1, Math.max(0, Number(cell.dataset.layer) + move[0]));
    const head = Math.min(this.model.heads - 1, Math.max(0, Number(cell.dataset.head) + move[1]));
    this.element.querySelector<SVGGElement>(`g.head-cell[data-layer="${layer}"][data-head="${head}"]`)?.focus();
  }
}

function cellOf(target: EventTarget | null): SVGGElement | undefined {
  if (!(target instanceof Element)) return undefined;
  return target.closest<SVGGElement>('g.head-cell') ?? undefined;
}
