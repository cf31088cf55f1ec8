/**
 * onnxruntime-node, loaded on first use (so that the tokenizer and the maths can be used and tested without the
 * native addon), and the session options every model graph is created with.
 */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProviderHost, ProviderName } from './providers';

export type Ort = typeof import('onnxruntime-node');

let ortModule: Ort | undefined;
export function ort(): Ort {
  // Loaded lazily so that the tokenizer and maths can be used (and tested) without the native addon.
  if (!ortModule) {
    ortModule = require('onnxruntime-node') as Ort;
    // A GPU provider that is missing logs a native error at session creation; we report it ourselves, once.
    ortModule.env.logLevel = 'fatal';
  }
  return ortModule;
}

export function sessionOptions(provider: ProviderName, threads: number) {
  return {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all' as const,
    // onnxruntime's own arena, not glibc: without it each chunk's ~80 score- or cache-sized tensors went
    // through malloc, whose dynamic mmap threshold (raised by the first freed big block) put them on the heap,
    // where chunk after chunk of slightly different sizes fragmented it: peak RSS 2.1 GB at 32k tokens for a
    // live peak under 0.4 GB. Forcing mmap (MALLOC_MMAP_THRESHOLD_) bounded it but page-faulted every tensor
    // (~1 s of system time per chunk at 32k). The arena reuses its blocks from chunk to chunk, without faults,
    // and grows only to the biggest chunk's live set; it is held while the session lives (the model process).
    enableCpuMemArena: true,
    // The memory pattern is planned per input shape, and every chunk has a new (T, P): each run would ask the
    // arena for one fresh block the size of the whole plan, which grew the arena by ~140 MB at 32k.
    enableMemPattern: false,
    extra: FLUSH_DENORMALS,
  };
}

/**
 * Subnormal floats (below 1.2e-38) flushed to zero on the session's threads. A softmax over thousands of keys
 * leaves many weights that small, and x86 multiplies them ~100× slower: one p·K MatMul of a 16k-token chunk took
 * 55 ms instead of 5 ms with them. Flushing changes a weight by less than 1.2e-38.
 */
export const FLUSH_DENORMALS = { session: { set_denormal_as_zero: '1' } };

/** A weightless helper graph's session (rows, stats, what-if): the model's threads, subnormals flushed. */
export function helperSessionOptions(threads: number, arena: boolean) {
  return { intraOpNumThreads: threads, enableCpuMemArena: arena, extra: FLUSH_DENORMALS };
}

/**
 * A weightless helper graph shipped in models/ (rows.onnx, stats.onnx), found from the bundle that runs: out/ in the
 * extension and the CLI, out/test/unit/ in the tests.
 */
export function shippedGraph(name: string): string | undefined {
  for (let dir = __dirname, i = 0; i < 4; i++, dir = path.dirname(dir)) {
    const p = path.join(dir, 'models', name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

const cores = () => os.availableParallelism?.() ?? os.cpus().length;

/** Intra-op threads when the caller does not say (the CLI, the benchmark, tests): every core. */
export function defaultThreads(): number {
  return Math.max(1, cores());
}

/**
 * The extension's automatic thread count (`attentionInspector.threads` = 0): every core but one, which is left to
 * the editor, since the model process runs beside VS Code's own. 2 cores → 1 thread, 16 → 15.
 */
export function editorThreads(n = cores()): number {
  return Math.max(1, n - 1);
}

/** This machine, for the provider order: CUDA counts only when onnxruntime-node's CUDA provider library is installed
 * (its postinstall downloads it; our offline install skips it). */
export function thisHost(): ProviderHost {
  let cudaInstalled = false;
  if (process.platform === 'linux' && process.arch === 'x64') {
    try {
      const root = path.dirname(require.resolve('onnxruntime-node/package.json'));
      cudaInstalled = existsSync(path.join(root, 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so'));
    } catch {
      cudaInstalled = false;
    }
  }
  return { platform: process.platform, arch: process.arch, cudaInstalled };
}
