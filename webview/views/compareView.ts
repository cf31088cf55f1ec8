/**
 * The "Compare" tab: a second shipped model (by default the counterpart of this one) beside this one, for the same
 * token and head. The switch posts setComparison (the host then analyses the document with that model too and
 * sends ComparisonPayloads); each side shows its focus statistics and top-k under both views, the model's own
 * marked. The figure is a bar chart of the four max weights and normalised entropies.
 */
import { headLabel, type AttentionPayload, type ComparisonPayload, type HostToWebview, type ModelInfo, type Normaliser } from '../../src/protocol';
import { barChart } from '../charts/barChart';
import { createCheckbox } from '../components';
import { formatEntropy, formatWeight, NORMALISER_NAME, viewName, visibleTokenText } from '../format';
import { placeholder, type InspectorView, type ViewData } from './view';

const NORMALISERS: readonly Normaliser[] = ['softmax', 'ssmax'];
const TOP_ROWS = 10;

export interface CompareViewEvents {
  setComparison(on: boolean): void;
}

interface Side {
  key: 'current' | 'other';
  model: ModelInfo;
  attention: AttentionPayload;
}

export class CompareView implements InspectorView {
  readonly id = 'compare' as const;
  readonly label = 'Compare';
  readonly element = document.createElement('div');
  private readonly body = document.createElement('div');
  private readonly toggle = createCheckbox('Compare with another model');
  private model: ModelInfo | undefined;
  private attention: AttentionPayload | undefined;
  private comparison: ComparisonPayload | null = null;
  private on = false;
  private chart: SVGSVGElement | undefined;

  constructor(events: CompareViewEvents) {
    this.element.className = 'view view-compare';
    const bar = document.createElement('div');
    bar.className = 'view-toolbar';
    this.toggle.element.id = 'comparison-toggle';
    this.toggle.element.title =
      'Analyse the document with a second shipped model too (by default the counterpart of this one; setting attentionInspector.compareModel) and show it beside this one';
    this.toggle.onChange((on) => {
      this.on = on;
      this.render();
      events.setComparison(on);
    });
    bar.append(this.toggle.element);
    this.element.append(bar, this.body);
    this.render();
  }

  onDocument(_doc: unknown, model: ModelInfo): void {
    this.setModel(model);
  }

  onAttention(a: AttentionPayload): void {
    this.setAttention(a);
  }

  onMessage(msg: HostToWebview): void {
    if (msg.type === 'settings') this.setEnabled(msg.comparison === true);
    else if (msg.type === 'comparison') this.show(msg.comparison);
  }

  setModel(model: ModelInfo): void {
    this.model = model;
    this.attention = undefined;
    this.render();
  }

  setAttention(attention: AttentionPayload | undefined): void {
    this.attention = attention;
    this.render();
  }

  /** The host's setting (settings.comparison), applied without posting it back. */
  setEnabled(on: boolean): void {
    this.on = on;
    this.toggle.setChecked(on);
    if (!on) this.comparison = null;
    this.render();
  }

  show(comparison: ComparisonPayload | null): void {
    this.comparison = comparison;
    this.render();
  }

  figure(): SVGSVGElement | undefined {
    return this.chart;
  }

  data(): ViewData | undefined {
    const sides = this.sides();
    if (!sides) return undefined;
    const rows = sides.flatMap((s) =>
      NORMALISERS.map((norm) => [
        s.key,
        s.model.id,
        s.model.normaliser,
        norm,
        norm === s.model.normaliser,
        s.attention.stats[norm].maxWeight,
        s.attention.stats[norm].entropy,
        s.attention.stats[norm].normalisedEntropy,
      ]),
    );
    return {
      title: `Comparison, token ${sides[0].attention.position}, ${headLabel(sides[0].attention.head)}`,
      table: { columns: ['side', 'model', 'trainedWith', 'view', 'ownView', 'maxWeight', 'entropy', 'normalisedEntropy'], rows },
      meta: {
        position: sides[0].attention.position,
        n: sides[0].attention.n,
        head: sides[0].attention.head,
        top: Object.fromEntries(sides.map((s) => [s.model.id, s.attention.top.slice(0, TOP_ROWS)])),
      },
    };
  }

  /** Both models' rows for the same token, when the other model's has arrived. */
  private sides(): [Side, Side] | undefined {
    const other = this.comparison?.attention;
    if (!this.on || !this.model || !this.attention || !this.comparison || !other || other.position !== this.attention.position) return undefined;
    return [
      { key: 'current', model: this.model, attention: this.attention },
      { key: 'other', model: this.comparison.model, attention: other },
    ];
  }

  private render(): void {
    this.chart = undefined;
    if (!this.on) {
      this.body.replaceChildren(
        placeholder(
          "Turn on the comparison to run a second model (by default this one's counterpart: softmax- beside SSMax-trained, the retrofit beside its softmax source, a model you added beside the SSMax-trained one; Attention: Select Comparison Model picks another) on this document and see both side by side.",
        ),
      );
      return;
    }
    const c = this.comparison;
    if (!c) {
      this.body.replaceChildren(placeholder('Starting the other model…'));
      return;
    }
    const sides = this.sides();
    if (!sides) {
      const text = !this.attention
        ? 'Select a token to compare.'
        : c.analysedTokens < c.totalTokens
          ? `${c.model.displayName} is analysing the document: ${c.analysedTokens} / ${c.totalTokens} tokens.`
          : `Waiting for ${c.model.displayName}'s row for token ${this.attention.position}…`;
      this.body.replaceChildren(placeholder(text));
      return;
    }
    this.chart = barChart({
      label: `Token ${sides[0].attention.position}: max weight and normalised entropy under softmax and SSMax, ${sides[0].model.displayName} and ${sides[1].model.displayName}`,
      groups: sides.flatMap((s) => [
        { label: `${shortName(s.model)}: max weight`, values: { softmax: s.attention.stats.softmax.maxWeight, ssmax: s.attention.stats.ssmax.maxWeight } },
        {
          label: `${shortName(s.model)}: entropy ÷ ln n`,
          values: { softmax: s.attention.stats.softmax.normalisedEntropy, ssmax: s.attention.stats.ssmax.normalisedEntropy },
        },
      ]),
      own: undefined,
      xTitle: 'Model and statistic',
      yTitle: 'Value',
      yMax: 1,
      height: 240,
    });
    const columns = document.createElement('div');
    columns.className = 'compare-columns';
    columns.append(...sides.map((s) => sideColumn(s)));
    this.body.replaceChildren(columns, this.chart);
  }
}

function shortName(model: ModelInfo): string {
  return model.displayName;
}

function sideColumn(side: Side): HTMLElement {
  const { model, attention: a } = side;
  const own = model.normaliser;
  const section = document.createElement('section');
  section.className = 'compare-side';
  section.dataset.side = side.key;
  section.dataset.model = model.id;
  const title = document.createElement('h3');
  title.textContent = `${side.key === 'current' ? 'This model' : 'Other model'}: ${model.displayName}`;
  const sub = document.createElement('p');
  sub.className = 'compare-sub';
  sub.textContent = `own normaliser ${NORMALISER_NAME[own]} · token ${a.position}, n = ${a.n}, ${headLabel(a.head)}`;

  const table = document.createElement('table');
  table.className = 'data-table compare-stats';
  const head = table.createTHead().insertRow();
  head.append(th(''));
  for (const norm of NORMALISERS) {
    const cell = th(`${viewName(norm, own)} (${norm === own ? 'own' : 'counterfactual'})`);
    if (norm === own) cell.className = 'own';
    head.append(cell);
  }
  const body = table.createTBody();
  const stats: [string, 'maxWeight' | 'entropy' | 'normalisedEntropy', (v: number) => string][] = [
    ['Max weight', 'maxWeight', formatWeight],
    ['Entropy (nats)', 'entropy', formatEntropy],
    ['Entropy ÷ ln n', 'normalisedEntropy', formatEntropy],
  ];
  for (const [label, key, format] of stats) {
    const row = body.insertRow();
    const header = th(label);
    header.scope = 'row';
    row.append(header);
    for (const norm of NORMALISERS) {
      const cell = row.insertCell();
      const value = a.stats[norm][key];
      cell.textContent = format(value);
      cell.dataset.stat = `${norm}-${key}`;
      cell.dataset.value = String(value);
      cell.className = `num${norm === own ? ' own' : ''}`;
    }
  }

  const top = document.createElement('table');
  top.className = 'data-table compare-top';
  const topCaption = top.createCaption();
  topCaption.textContent = `Most attended (ordered by ${NORMALISER_NAME[own]}, the model's own)`;
  const topHead = top.createTHead().insertRow();
  for (const label of ['Token', 'Line', NORMALISER_NAME.softmax, NORMALISER_NAME.ssmax]) topHead.append(th(label));
  const topBody = top.createTBody();
  for (const t of a.top.slice(0, TOP_ROWS)) {
    const row = topBody.insertRow();
    row.dataset.pos = String(t.position);
    const token = row.insertCell();
    const code = document.createElement('code');
    code.textContent = visibleTokenText(t.text);
    token.append(code);
    row.insertCell().textContent = `L${t.line + 1}`;
    for (const norm of NORMALISERS) {
      const cell = row.insertCell();
      cell.textContent = formatWeight(t[norm]);
      cell.dataset.value = String(t[norm]);
      cell.dataset.series = norm;
      cell.className = `num${norm === own ? ' own' : ''}`;
    }
  }
  section.append(title, sub, table, top);
  return section;
}

function th(text: string): HTMLTableCellElement {
  const cell = document.createElement('th');
  cell.textContent = text;
  return cell;
}
