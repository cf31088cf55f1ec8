/**
 * The what-if view's focus statistics under a length-scaling law other than the one our own graphs compute.
 *
 * Our exported graphs give every query's max weight and entropy under both views, the what-if with SSMax's
 * c = ln n / ln N built in. For another law (whatIf.ts) those two numbers of every analysed position are replaced
 * chunk by chunk from the stored queries and keys, through models/whatif.onnx (one MatMul of the chunk's queries
 * against every key so far, the causal mask and the statistics, on onnxruntime's threads). It costs about one more
 * attention pass of the chunk; with the default law nothing is run. Hugging Face exports need none of this: their
 * statistics are computed from the graph's own scores with the law's multiplier (hfRunner.ts).
 */
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import type { Analysis } from './analysis';
import { attentionShape, type ModelManifest } from './manifest';
import { helperSessionOptions, ort, shippedGraph } from './ort';
import { isDefaultWhatIf, lawMultiplier } from './whatIf';

/** The what-if statistics for a model, or undefined when its graph's own are the ones wanted. */
export async function whatIfStatsFor(manifest: ModelManifest, threads: number): Promise<WhatIfStats | undefined> {
  if (manifest.normaliser !== 'softmax' || isDefaultWhatIf(manifest.whatIf)) return undefined;
  const graph = shippedGraph('whatif.onnx');
  if (!graph) throw new Error('models/whatif.onnx is missing: the what-if law cannot be applied (reinstall the extension)');
  const session = await ort().InferenceSession.create(graph, helperSessionOptions(threads, false));
  return new WhatIfStats(session, manifest);
}

export class WhatIfStats {
  constructor(
    private readonly session: OrtSession,
    private readonly manifest: ModelManifest,
  ) {}

  /**
   * Overwrites the what-if statistics (slots 2 and 3) of positions [P, P+T) of every layer, once the chunk is stored;
   * `queries`: the chunk's queries per layer ([T, heads, headDim], from the graph: the store may keep none).
   */
  async apply(analysis: Analysis, P: number, T: number, queries: Float32Array[]): Promise<void> {
    const { Tensor } = ort();
    const { heads, kvHeads, headDim, scoreScale } = attentionShape(this.manifest);
    if (kvHeads !== heads) throw new Error('what-if statistics need one key head per query head (our own graphs)');
    const law = this.manifest.whatIf;
    if (!law) return;
    const c = Float32Array.from({ length: T }, (_, t) => lawMultiplier(law, P + t + 1, this.manifest.trainingContext) * scoreScale);
    const row = heads * headDim;
    for (let l = 0; l < analysis.layers.length; l++) {
      const L = analysis.layers[l];
      const out = await this.session.run({
        q: new Tensor('float32', queries[l].subarray(0, T * row), [T, heads, headDim]),
        k: new Tensor('float32', L.k.subarray(0, (P + T) * row), [P + T, heads, headDim]),
        c: new Tensor('float32', c, [T]),
        start: new Tensor('int64', BigInt64Array.of(BigInt(P)), []),
      });
      const max = out.other_max.data as Float32Array;
      const entropy = out.other_entropy.data as Float32Array;
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < heads; h++) {
          const o = ((P + t) * heads + h) * 4;
          L.stats[o + 2] = max[h * T + t];
          L.stats[o + 3] = entropy[h * T + t];
        }
      }
    }
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
