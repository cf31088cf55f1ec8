/**
 * The model view's cells for one query: every layer × head, from one rows-graph call per layer (with each row's
 * statistics from the graph), or from the JavaScript rows for short rows. Shared by the model process and the bench.
 */
import type { Analysis } from './analysis';
import { statsOf } from './attention';
import type { AttentionModel } from './model';
import { headCell } from './views';
import type { HeadCell } from '../protocol';

export async function headCells(model: AttentionModel, a: Analysis, position: number): Promise<HeadCell[]> {
  const { layers, heads } = model.manifest.architecture;
  const own = model.manifest.normaliser;
  const n = position + 1;
  const cells: HeadCell[] = [];
  for (let l = 0; l < layers; l++) {
    const all = await model.layerRows(a, position, l);
    for (let h = 0; h < heads; h++) {
      if (all) {
        const stats = { softmax: statsOf(all.max.softmax[h], all.entropy.softmax[h], n), ssmax: statsOf(all.max.ssmax[h], all.entropy.ssmax[h], n) };
        cells.push(headCell(l, h, all.softmax.subarray(h * n, (h + 1) * n), all.ssmax.subarray(h * n, (h + 1) * n), own, stats));
      } else {
        const rows = a.rows(position, { layer: l, head: h });
        cells.push(headCell(l, h, rows.softmax, rows.ssmax, own, rows.stats));
      }
    }
  }
  return cells;
}
