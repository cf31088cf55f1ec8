/**
 * `retrieval FILE`: retrieval heads (src/core/retrieval.ts, Wu et al. 2024) on a copy of FILE's first N tokens with
 * three of its spans repeated at the end: how often each model copies, and its heads ranked by retrieval score.
 */
import { readFileSync } from 'node:fs';
import { headLabel } from '../core/domain';
import { AttentionModel } from '../core/model';
import { findRetrievalHeads } from '../core/retrieval';
import { flag, MODEL_HELP, MODEL_OPTIONS, positiveInt, provider, resolveModel, str, trainingContext, UsageError, whatIf, type Command } from './args';

export const retrievalCommand: Command = {
  name: 'retrieval',
  summary: 'rank every head by how often it points at the token the model copies from an earlier span',
  usage:
    'usage: attention-inspector retrieval FILE [--models MODEL,MODEL,...] [--context N] [--top K] [--provider P] [--json]\n' +
    '  --models LIST           models to score (default ssmax,softmax)\n' +
    '  --context N             tokens of the copy, from the start of FILE, the repeats included (default 512)\n' +
    '  --top K                 heads listed per model (default 5; --json lists all)\n' +
    MODEL_HELP,
  options: {
    ...MODEL_OPTIONS,
    models: { type: 'string', default: 'ssmax,softmax' },
    model: { type: 'string' },
    context: { type: 'string' },
    top: { type: 'string' },
  },
  positionals: 1,
  async run(values, [file]) {
    if (str(values, 'model') !== undefined) throw new UsageError('retrieval scores several models: use --models ID,ID');
    const contextTokens = positiveInt('context', str(values, 'context'), 512);
    if (contextTokens < 64) throw new UsageError('--context must be at least 64 tokens');
    const top = positiveInt('top', str(values, 'top'), 5);
    const manifests = (str(values, 'models') ?? '').split(',').map((m) => resolveModel(m.trim()));
    const json = flag(values, 'json');
    const choice = provider(values);
    const nTrain = trainingContext(values);
    const law = whatIf(values);
    const text = readFileSync(file, 'utf8');
    const models = await Promise.all(
      manifests.map((manifestPath) => AttentionModel.load({ manifestPath, provider: choice, trainingContext: nTrain, whatIf: law })),
    );
    const t0 = performance.now();
    const results = await findRetrievalHeads(models, text, { contextTokens });
    const ms = performance.now() - t0;
    await Promise.all(models.map((m) => m.dispose()));
    if (json) {
      console.log(JSON.stringify({ file, contextTokens, ms: Math.round(ms), results }, null, 2));
      return 0;
    }
    for (const r of results) {
      console.log(`${r.displayName} (own ${r.normaliser}): ${r.contextTokens} tokens, copied ${r.copied} of ${r.steps} repeated tokens`);
      console.log('  head      score  hits  weight softmax  weight SSMax');
      for (const h of r.heads.slice(0, top))
        console.log(
          `  ${headLabel(h).padEnd(8)} ${h.score.toFixed(3).padStart(6)} ${String(h.hits).padStart(5)} ${h.weight.softmax.toFixed(3).padStart(15)} ${h.weight.ssmax.toFixed(3).padStart(13)}`,
        );
    }
    console.log(`${(ms / 1000).toFixed(1)} s`);
    return 0;
  },
};
