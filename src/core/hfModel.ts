/**
 * A folder written by `optimum-cli export onnx --task text-generation-with-past` (a Hugging Face decoder): what it
 * is (from config.json), where its attention is (from the graph), and how to run it chunk by chunk.
 *
 * The graph's own outputs are logits and the key/value cache (`present.N.key` holds keys after RoPE, one per key
 * head). What the views need besides are, per layer, the attention scores and the query they come from: the input
 * of each layer's Softmax (z = (q·kᵀ)·scale + mask, the one place every exporter's pattern agrees on) and the first
 * input of the scores MatMul behind it (the query after RoPE; under torch's SDPA symbolic it is pre-scaled). Both
 * are made graph outputs in memory (onnxGraph.withOutputs); the user's files are only read. The scale that relates
 * that query and the cached keys to z is measured from the graph's own z on the first chunk, and the analysis is
 * refused when z is not a constant multiple of q·k (the pattern was not what we looked for).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ModelManifest } from './manifest';
import { ModelFileError } from './manifest';
import { OnnxFormatError, readGraph, type OnnxGraph } from './onnxGraph';

/** config.json `model_type`s whose export layout this extension follows (training/hf_decoders.py has each). */
export const SUPPORTED_FAMILIES: Record<string, string> = {
  gpt2: 'GPT-2',
  llama: 'Llama',
  mistral: 'Mistral',
  qwen2: 'Qwen2 / Qwen2.5',
  qwen3: 'Qwen3',
  gpt_neox: 'GPT-NeoX / Pythia',
  phi3: 'Phi-3',
};
const ENCODER_ONLY = new Set([
  'bert',
  'roberta',
  'distilbert',
  'albert',
  'electra',
  'deberta',
  'deberta-v2',
  'xlm-roberta',
  'mpnet',
  'modernbert',
  't5',
  'bart',
  'mt5',
]);
const FUSED_ATTENTION = new Set(['GroupQueryAttention', 'MultiHeadAttention', 'Attention', 'PackedMultiHeadAttention', 'SparseAttention']);
/**
 * The graph a folder is run from, in this order: a current optimum's one model.onnx; then, in a legacy export
 * (optimum before 1.14, or --legacy: decoder_model.onnx, decoder_with_past_model.onnx and their If-merged
 * decoder_model_merged.onnx), the with-past decoder, a plain graph that also takes an empty cache for the first chunk,
 * rather than the merged one, whose attention sits inside If branches no outer output can reach.
 */
const ONNX_NAMES = ['model.onnx', 'decoder_with_past_model.onnx', 'decoder_model_merged.onnx'];

export interface HfFolder {
  dir: string;
  manifest: ModelManifest;
  onnxPath: string;
  tokenizerPath: string;
  tokenizerConfigPath?: string;
  /** Learned absolute positions (GPT-2): the graph cannot run past this many tokens. */
  maxPositions?: number;
  modelType: string;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const posInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/** A folder (as opposed to a manifest file) is taken for a Hugging Face export; describeHfFolder says if it is not one. */
export function isHfFolder(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A catalogue id for a folder: `hf-` and its name, lower-case. */
export function hfModelId(dir: string): string {
  const slug = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 60);
  return `hf-${slug || 'model'}`;
}

/**
 * Reads and validates a folder's config.json and file list (not the weights). Every error names the file and
 * what is wrong with it. `trainingContext` overrides the length read from the config (the SSMax what-if's N_train).
 */
export function describeHfFolder(dir: string, opts: { trainingContext?: number; id?: string } = {}): HfFolder {
  const configPath = join(dir, 'config.json');
  let config: Json;
  try {
    const parsed: unknown = JSON.parse(readFileSync(configPath, 'utf8'));
    if (!isObj(parsed)) throw new Error('not an object');
    config = parsed;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(
      configPath,
      code === 'ENOENT' ? 'no config.json: this is not a Hugging Face model folder' : `config.json is not valid: ${(e as Error).message}`,
    );
  }
  const type = typeof config.model_type === 'string' ? config.model_type : '';
  if (ENCODER_ONLY.has(type))
    throw new ModelFileError(configPath, `${type} is an encoder (or encoder-decoder) model; Attention Inspector shows decoder-only language models`);
  if (!SUPPORTED_FAMILIES[type]) {
    throw new ModelFileError(
      configPath,
      `model_type "${type || '(missing)'}" is not supported; supported: ${Object.entries(SUPPORTED_FAMILIES)
        .map(([k, v]) => `${k} (${v})`)
        .join(', ')}`,
    );
  }
  const layers = posInt(config.num_hidden_layers ?? config.n_layer);
  const heads = posInt(config.num_attention_heads ?? config.n_head);
  const dModel = posInt(config.hidden_size ?? config.n_embd);
  const vocabSize = posInt(config.vocab_size);
  if (!layers || !heads || !dModel || !vocabSize) throw new ModelFileError(configPath, 'config.json lacks the layer, head, width or vocabulary size');
  const kvHeads = posInt(config.num_key_value_heads) ?? heads;
  const headDim = posInt(config.head_dim) ?? dModel / heads;
  if (!Number.isInteger(headDim) || heads % kvHeads !== 0)
    throw new ModelFileError(configPath, `config.json has ${heads} heads, ${kvHeads} key heads and width ${dModel}, which do not divide`);
  const scaling = isObj(config.rope_scaling) ? config.rope_scaling : undefined;
  // the pretraining length: RoPE scaling's original (Llama 3.1, Qwen YaRN), Phi-3's top-level original (its longrope
  // variants extend max_position_embeddings), else the positions the config allows
  const readContext =
    posInt(scaling?.original_max_position_embeddings) ??
    posInt(config.original_max_position_embeddings) ??
    posInt(config.max_position_embeddings) ??
    posInt(config.n_positions);
  // transformers masks keys outside a sliding window for Mistral (v0.1 sets 4096) and Phi-3 (2047 in the mini
  // models); Qwen2/Qwen3 do only with use_sliding_window, and then only from layer max_window_layers on
  if ((type === 'qwen2' || type === 'qwen3') && config.use_sliding_window === true)
    throw new ModelFileError(
      configPath,
      `use_sliding_window is true: ${type}'s per-layer sliding window is not supported (released Qwen configs set it false)`,
    );
  const slidingWindow = type === 'mistral' || type === 'phi3' ? posInt(config.sliding_window) : undefined;
  const trainingContext = opts.trainingContext ?? readContext;
  if (!trainingContext)
    throw new ModelFileError(configPath, 'config.json has no max_position_embeddings or n_positions (the training length); set it for this model');
  const onnxName = ONNX_NAMES.find((n) => existsSync(join(dir, n)));
  if (!onnxName) {
    const found = safeList(dir).filter((f) => f.endsWith('.onnx'));
    throw new ModelFileError(
      dir,
      `no ${ONNX_NAMES[0]} (nor a legacy export's ${ONNX_NAMES.slice(1).join(' or ')}) in the folder${found.length ? ` (found ${found.join(', ')})` : ''}; export with optimum-cli export onnx --task text-generation-with-past`,
    );
  }
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerPath))
    throw new ModelFileError(tokenizerPath, 'no tokenizer.json in the folder (optimum writes it with the model; a slow tokenizer alone is not enough)');
  const eos: unknown = Array.isArray(config.eos_token_id) ? (config.eos_token_id as unknown[])[0] : config.eos_token_id;
  const name = typeof config._name_or_path === 'string' && config._name_or_path ? basename(config._name_or_path) : basename(dir);
  const manifest: ModelManifest = {
    format: 'attention-inspector-model-v1',
    id: opts.id ?? hfModelId(dir),
    displayName: name,
    summary: `${SUPPORTED_FAMILIES[type]}: your model (${layers} layers × ${heads} heads${kvHeads !== heads ? `, ${kvHeads} key heads` : ''}), softmax-trained; its SSMax view is a what-if with s = 1/ln ${trainingContext}`,
    onnx: onnxName,
    tokenizer: 'tokenizer.json',
    normaliser: 'softmax',
    architecture: {
      vocabSize,
      dModel,
      layers,
      heads,
      kvHeads,
      headDim,
      ropeBase: typeof config.rope_theta === 'number' ? config.rope_theta : 10000,
      intermediateSize: posInt(config.intermediate_size ?? config.n_inner) ?? 4 * dModel,
      gatedMlp: !['gpt2', 'gpt_neox'].includes(type),
      ...(slidingWindow ? { slidingWindow } : {}),
    },
    trainingContext,
    s: null,
    eotId: typeof eos === 'number' ? eos : -1,
    provenance: { source: 'hugging-face-export', folder: dir, modelType: type, trainingContextFrom: opts.trainingContext ? 'setting' : 'config.json' },
  };
  return {
    dir,
    manifest,
    onnxPath: join(dir, onnxName),
    tokenizerPath,
    tokenizerConfigPath: existsSync(join(dir, 'tokenizer_config.json')) ? join(dir, 'tokenizer_config.json') : undefined,
    maxPositions: type === 'gpt2' ? posInt(config.n_positions) : undefined,
    modelType: type,
  };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Per layer: the tensor names of the Softmax's input (scores) and of the scores MatMul's query input. */
export interface AttentionTaps {
  scores: string[];
  queries: string[];
}

const PASS_THROUGH = new Set(['Add', 'Sub', 'Mul', 'Div', 'Where', 'Cast', 'Identity']);

/** Finds each layer's attention in the graph; throws with a message naming what is there instead. */
export function findAttention(graph: OnnxGraph, layers: number, file: string): AttentionTaps {
  const fused = graph.nodes.find((n) => FUSED_ATTENTION.has(n.opType));
  if (fused) {
    throw new ModelFileError(
      file,
      `the graph computes attention in one fused ${fused.domain ? `${fused.domain}.` : ''}${fused.opType} node, which does not expose the attention scores; export without fusion: optimum-cli export onnx --task text-generation-with-past (no --optimize), not onnxruntime-genai's model builder`,
    );
  }
  const softmaxes = graph.nodes.filter((n) => n.opType === 'Softmax');
  const branch = graph.nodes.find((n) => n.opType === 'If' && n.inputs.includes('use_cache_branch'));
  if (branch && softmaxes.length === 0) {
    // optimum before 1.14 (huggingface/optimum PR 1257), or --legacy, merged decoder_model.onnx and decoder_with_past_model.onnx under an If on use_cache_branch:
    // the attention lives in the If's two subgraphs, whose values cannot be made outputs of the outer graph
    throw new ModelFileError(
      file,
      'this is a merged decoder (an If node on use_cache_branch, written by optimum before 1.14, or with --legacy): its attention sits inside the If branches and cannot be read out; put the decoder_with_past_model.onnx of the same export beside it (it is used instead), or export again with a current optimum, which writes a single model.onnx: optimum-cli export onnx --task text-generation-with-past',
    );
  }
  const producer = new Map<string, (typeof graph.nodes)[number]>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  if (softmaxes.length !== layers) {
    throw new ModelFileError(file, `expected one attention Softmax per layer (${layers}), found ${softmaxes.length} Softmax nodes`);
  }
  const taps: AttentionTaps = { scores: [], queries: [] };
  for (const [l, s] of softmaxes.entries()) {
    // walk back from the scores through the mask and scale to the MatMul of q and kᵀ
    const matmul = (function find(tensor: string, depth: number): (typeof graph.nodes)[number] | undefined {
      const p = producer.get(tensor);
      if (!p || depth > 8) return undefined;
      if (p.opType === 'MatMul') return p;
      if (!PASS_THROUGH.has(p.opType)) return undefined;
      for (const i of p.inputs) {
        const m = find(i, depth + 1);
        if (m) return m;
      }
      return undefined;
    })(s.inputs[0], 0);
    if (!matmul) throw new ModelFileError(file, `layer ${l}: the attention Softmax's scores do not come from a MatMul of queries and keys`);
    taps.scores.push(s.inputs[0]);
    taps.queries.push(matmul.inputs[0]);
  }
  return taps;
}

/** Reads the graph of an export, with a message naming the file when it is not ONNX. */
export function readExportGraph(bytes: Uint8Array, file: string): OnnxGraph {
  try {
    return readGraph(bytes);
  } catch (e) {
    if (e instanceof OnnxFormatError) throw new ModelFileError(file, `not an ONNX model (${e.message})`);
    throw e;
  }
}

/** The external-data files an export's weights live in (optimum: `model.onnx_data` beside `model.onnx`). */
export function externalDataFiles(dir: string, onnxName: string): string[] {
  return safeList(dir).filter(
    (f) => f === `${onnxName}_data` || f === `${onnxName}.data` || (f.startsWith(onnxName.replace(/\.onnx$/, '')) && f.endsWith('.onnx_data')),
  );
}
