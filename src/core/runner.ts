/**
 * The contract between the analysis loop (model.ts) and a kind of graph: our own exports (model.ts) or Hugging
 * Face exports (hfRunner.ts). A runner turns one chunk of tokens against the cache of earlier positions into
 * logits and, per layer, post-RoPE queries, keys, values and each query's focus statistics under both views.
 */
import type { Analysis } from './analysis';

/** One chunk of T new positions against a cache of P: the graph's outputs, position-major per layer. */
export interface ChunkOutputs {
  logits: Float32Array;
  layers: { q: Float32Array; k: Float32Array; v: Float32Array; stats: Float32Array }[];
}

/** How one kind of graph is run: our own exports (below) or Hugging Face exports (hfRunner.ts). */
export interface ChunkRunner {
  /** Tokens in the next chunk for a cache of P positions, bounding the graph's score-sized intermediates. */
  chunkFor(P: number, requested: number, unbounded: boolean): number;
  run(analysis: Analysis, P: number, T: number): Promise<ChunkOutputs>;
  /** Positions the graph can run at all (learned absolute positions end somewhere). */
  readonly maxPositions?: number;
  /**
   * One position's queries ([layer] of [heads, headDim]) recomputed by a decode step of its token against the cache
   * of the positions before it (~2 × parameters FLOPs): what lets an analysis keep no queries (both runners have it).
   * Absent: queries are always stored.
   */
  queriesAt?(analysis: Analysis, position: number): Promise<Float32Array[]>;
  release(): Promise<void>;
}
