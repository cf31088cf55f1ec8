/**
 * Every layer × head's rows for one query, from one rows-graph call per layer (with each row's statistics from the
 * graph), or from the JavaScript rows for short rows. The model view's cells and the needle probe read them; so
 * does the bench.
 */
import type { Analysis } from './analysis';
import { statsOf, type FocusStats } from './attention';
import type { AttentionModel } from './model';
import { headCell } from './views';
import type { HeadCell, Normaliser } from './domain';

export interface HeadRows {
  layer: number;
  head: number;
  softmax: Float32Array;
  ssmax: Float32Array;
  stats: Record<Normaliser, FocusStats>;
}

export async function* everyHeadRows(model: AttentionModel, a: Analysis, position: number): AsyncGenerator<HeadRows> {
  const { layers, heads } = model.manifest.architecture;
  const n = position + 1;
  await model.prepareQueries(a, [position]);
  for (let l = 0; l < layers; l++) {
    const all = await model.layerRows(a, position, l);
    for (let h = 0; h < heads; h++) {
      if (all) {
        const stats = { softmax: statsOf(all.max.softmax[h], all.entropy.softmax[h], n), ssmax: statsOf(all.max.ssmax[h], all.entropy.ssmax[h], n) };
        yield { layer: l, head: h, softmax: all.softmax.subarray(h * n, (h + 1) * n), ssmax: all.ssmax.subarray(h * n, (h + 1) * n), stats };
      } else {
        const rows = a.rows(position, { layer: l, head: h });
        yield { layer: l, head: h, softmax: rows.softmax, ssmax: rows.ssmax, stats: rows.stats };
      }
    }
  }
}

/** The model view's cells for one query: every layer × head. */
export async function headCells(model: AttentionModel, a: Analysis, position: number, sinkTokens?: number): Promise<HeadCell[]> {
  const cells: HeadCell[] = [];
  for await (const r of everyHeadRows(model, a, position))
    cells.push(headCell(r.layer, r.head, r.softmax, r.ssmax, model.manifest.normaliser, r.stats, 3, sinkTokens));
  return cells;
}
