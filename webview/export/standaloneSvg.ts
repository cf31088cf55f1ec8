/**
 * Serialises a chart as a standalone SVG file. On screen, chart colours and fonts come from media/webview.css
 * (classes and --vscode-* variables), which a saved file does not have: so the chart is cloned and every element
 * gets its *computed* paint and text properties as presentation attributes, plus a background rect in the theme's
 * editor background. Attributes (not style="…") keep this within the panel's CSP, which has no 'unsafe-inline'.
 */
import { SVG_NS } from '../charts/svg';

/** Computed properties that change how an SVG element renders, copied as presentation attributes. */
const PRESENTATION_PROPERTIES = [
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-dasharray',
  'stroke-opacity',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
] as const;

export interface StandaloneSvg {
  /** The serialised file. */
  text: string;
  width: number;
  height: number;
}

export function standaloneSvg(chart: SVGSVGElement): StandaloneSvg {
  const clone = chart.cloneNode(true) as SVGSVGElement;
  const source = [chart, ...Array.from(chart.querySelectorAll('*'))];
  const target = [clone, ...Array.from(clone.querySelectorAll('*'))];
  source.forEach((el, i) => {
    const copy = target[i];
    const computed = getComputedStyle(el);
    for (const property of PRESENTATION_PROPERTIES) {
      const value = computed.getPropertyValue(property);
      if (value && !(property === 'stroke-dasharray' && value === 'none')) copy.setAttribute(property, value);
    }
    // Interactive and layout-only attributes mean nothing in a file.
    copy.removeAttribute('tabindex');
    copy.removeAttribute('class');
  });
  const viewBox = chart.viewBox.baseVal;
  const width = viewBox && viewBox.width > 0 ? viewBox.width : chart.clientWidth;
  const height = viewBox && viewBox.height > 0 ? viewBox.height : chart.clientHeight;
  clone.setAttribute('xmlns', SVG_NS);
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  const background = document.createElementNS(SVG_NS, 'rect');
  background.setAttribute('width', '100%');
  background.setAttribute('height', '100%');
  background.setAttribute('fill', getComputedStyle(document.body).backgroundColor || '#ffffff');
  clone.insertBefore(background, clone.firstChild);
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}\n`;
  return { text, width, height };
}
