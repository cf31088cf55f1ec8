/**
 * PNG from a standalone SVG: draw it through an <img> (a data: URL, which the panel's img-src already allows)
 * onto a canvas at 2× for sharp text, then base64 without the data: prefix, as the export message wants.
 * The SVG has no foreignObject or external references, so the canvas is not tainted.
 */
import type { StandaloneSvg } from './standaloneSvg';

const SCALE = 2;

export async function svgToPngBase64(svg: StandaloneSvg): Promise<string> {
  const image = new Image();
  image.decoding = 'async';
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg.text)}`;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(svg.width * SCALE);
  canvas.height = Math.ceil(svg.height * SCALE);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no 2D canvas context');
  context.scale(SCALE, SCALE);
  context.drawImage(image, 0, 0, svg.width, svg.height);
  const url = canvas.toDataURL('image/png');
  return url.slice(url.indexOf(',') + 1);
}
