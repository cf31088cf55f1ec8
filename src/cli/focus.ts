/**
 * `focus FILE`: the focus-vs-length view in numbers: mean over every head of the max weight and normalised entropy,
 * under both views, for query positions in windows just below 1×, 2×, 4×, ... the training length.
 */
import { readFileSync } from 'node:fs';
import { AttentionModel } from '../core/model';
import { focusCurve } from '../core/views';
import { flag, MODEL_HELP, MODEL_OPTIONS, positiveInt, provider, resolveModel, str, trainingContext, whatIf, type Command } from './args';
import { DEFAULT_WHAT_IF, modelWhatIf } from '../core/whatIf';

export const focusCommand: Command = {
  name: 'focus',
  summary: 'max weight and entropy against the number of keys, at 1×, 2×, 4×, … the training length',
  usage:
    'usage: attention-inspector focus FILE [--model MODEL] [--max-tokens N] [--provider P] [--json]\n' +
    '  --model MODEL           default ssmax\n' +
    '  --max-tokens N          analyse at most N tokens (default 32768)\n' +
    MODEL_HELP,
  options: { ...MODEL_OPTIONS, model: { type: 'string' }, 'max-tokens': { type: 'string' } },
  positionals: 1,
  async run(values, [file]) {
    const manifestPath = resolveModel(str(values, 'model') ?? 'ssmax');
    const maxTokens = positiveInt('max-tokens', str(values, 'max-tokens'), 32768);
    const model = await AttentionModel.load({ manifestPath, provider: provider(values), trainingContext: trainingContext(values), whatIf: whatIf(values) });
    const a = await model.analyse(readFileSync(file, 'utf8'), { maxTokens });
    const { layers } = model.manifest.architecture;
    const N = model.manifest.trainingContext;
    const rows = [];
    for (let k = 1; k * N <= a.analysed; k *= 2) {
      // positions (k·N·0.9, k·N]: a window just below k× the training length
      const from = Math.floor(k * N * 0.9);
      const to = k * N;
      const acc = { softmaxMax: 0, ssmaxMax: 0, softmaxEnt: 0, ssmaxEnt: 0 };
      let count = 0;
      for (let l = 0; l < layers; l++) {
        const c = focusCurve(a, { layer: l, head: 'mean' }, 4096);
        c.n.forEach((n, i) => {
          if (n <= from || n > to) return;
          acc.softmaxMax += c.maxWeight.softmax[i];
          acc.ssmaxMax += c.maxWeight.ssmax[i];
          acc.softmaxEnt += c.normalisedEntropy.softmax[i];
          acc.ssmaxEnt += c.normalisedEntropy.ssmax[i];
          count++;
        });
      }
      rows.push({
        times: k,
        n: to,
        maxWeight: { softmax: acc.softmaxMax / count, ssmax: acc.ssmaxMax / count },
        normalisedEntropy: { softmax: acc.softmaxEnt / count, ssmax: acc.ssmaxEnt / count },
      });
    }
    // the length-scaled column: a softmax-trained model's what-if under the chosen law, or an SSMax model's own
    const scaled = modelWhatIf(model.manifest);
    const summary = {
      file,
      model: model.manifest.displayName,
      normaliser: model.manifest.normaliser,
      trainingContext: N,
      ...(scaled ? { whatIf: { ...(model.manifest.whatIf ?? DEFAULT_WHAT_IF), formula: scaled.formula } } : {}),
      tokens: a.analysed,
      rows,
    };
    await model.dispose();
    if (flag(values, 'json')) {
      console.log(JSON.stringify(summary, null, 2));
      return 0;
    }
    console.log(`${summary.model} (own: ${summary.normaliser}) on ${file}: ${summary.tokens} tokens; mean over all heads, query positions in (0.9·n, n]`);
    if (scaled) console.log(`what-if view: ${scaled.label} = ${scaled.formula} (${scaled.source})`);
    const name = scaled?.label ?? 'SSMax';
    console.log(`| n | × training | max weight softmax | max weight ${name} | entropy/ln n softmax | entropy/ln n ${name} |`);
    console.log('|---|---|---|---|---|---|');
    for (const r of rows)
      console.log(
        `| ${r.n} | ${r.times}× | ${r.maxWeight.softmax.toFixed(3)} | ${r.maxWeight.ssmax.toFixed(3)} | ${r.normalisedEntropy.softmax.toFixed(3)} | ${r.normalisedEntropy.ssmax.toFixed(3)} |`,
      );
    return 0;
  },
};
