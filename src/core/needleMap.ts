/**
 * The needle map (Needle-in-a-Haystack style): the passkey probe of probe.ts over a grid of context lengths × depths,
 * each cell over several haystacks cut from different places of the user's file (copies: the document is only read).
 * A cell says, per model, how many haystacks it answered and the weight the asking token put on the value (the best
 * head by the model's own view, and the mean of all heads), under both views, averaged over the haystacks.
 */
import { runProbe, DEFAULT_PROBE } from './probe';
import { CancelledError, type AttentionModel } from './model';
import type { NeedleMapCell } from './domain';

export type { NeedleMapCell, NeedleMapModelCell } from './domain';

export interface NeedleMapOptions {
  lengths: number[];
  depths: number[];
  haystacks: number;
  signal?: AbortSignal;
  onCell?: (cell: NeedleMapCell, completedRuns: number, totalRuns: number) => void;
}

/** The planted value of a haystack: five digits, fixed per (length, depth, haystack) so a run can be repeated. */
export function needleValue(length: number, depth: number, haystack: number): string {
  let h = 2166136261;
  for (const c of `${length}:${depth}:${haystack}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return String(10000 + (h % 90000));
}

/**
 * Where haystack h of `count` starts: spread over the part of the text that leaves `chars` characters after it, at
 * a line start (haystack 0 at the start of the file).
 */
export function haystackStart(text: string, h: number, count: number, chars: number): number {
  const room = Math.max(0, text.length - chars);
  const at = Math.round((h / Math.max(1, count)) * room);
  if (at <= 0) return 0;
  const nl = text.lastIndexOf('\n', at - 1);
  return nl < 0 ? 0 : nl + 1;
}

export async function runNeedleMap(models: AttentionModel[], text: string, opts: NeedleMapOptions): Promise<NeedleMapCell[]> {
  if (!models.length) throw new Error('no model to probe');
  const sample = models[0].tokenizer.encode(text.slice(0, 50_000));
  const charsPerToken = sample.ids.length ? Math.min(50_000, text.length) / sample.ids.length : 4;
  const totalRuns = opts.lengths.length * opts.depths.length * opts.haystacks * models.length;
  const cells: NeedleMapCell[] = [];
  let completed = 0;
  for (const length of opts.lengths) {
    for (const depth of opts.depths) {
      const sums = models.map((m) => ({
        modelId: m.manifest.id,
        displayName: m.manifest.displayName,
        normaliser: m.manifest.normaliser,
        haystacks: 0,
        correct: 0,
        best: { softmax: 0, ssmax: 0 },
        mean: { softmax: 0, ssmax: 0 },
      }));
      let tokens = 0;
      for (let h = 0; h < opts.haystacks; h++) {
        if (opts.signal?.aborted) throw new CancelledError();
        const start = haystackStart(text, h, opts.haystacks, Math.ceil(length * charsPerToken * 1.1));
        const [result] = await runProbe(models, text.slice(start), {
          key: DEFAULT_PROBE.key,
          value: needleValue(length, depth, h),
          depths: [depth],
          contextTokens: length,
          signal: opts.signal,
        });
        tokens += result.contextTokens;
        result.models.forEach((m, i) => {
          const s = sums[i];
          s.haystacks++;
          if (m.correct) s.correct++;
          s.best.softmax += m.best.softmax;
          s.best.ssmax += m.best.ssmax;
          s.mean.softmax += m.mean.softmax;
          s.mean.ssmax += m.mean.ssmax;
        });
        completed += models.length;
      }
      for (const s of sums)
        for (const v of ['softmax', 'ssmax'] as const) {
          s.best[v] /= Math.max(1, s.haystacks);
          s.mean[v] /= Math.max(1, s.haystacks);
        }
      const cell: NeedleMapCell = { length, contextTokens: Math.round(tokens / Math.max(1, opts.haystacks)), depth, models: sums };
      cells.push(cell);
      opts.onCell?.(cell, completed, totalRuns);
    }
  }
  return cells;
}
