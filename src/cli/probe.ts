/**
 * `probe FILE`: the passkey probe (src/core/probe.ts) on a copy of FILE's first N tokens with the models named: the
 * weight of the last question token on the planted value, and whether each model predicts it.
 */
import { readFileSync } from 'node:fs';
import { AttentionModel } from '../core/model';
import { DEFAULT_PROBE, needleLine, runProbe } from '../core/probe';
import { flag, MODEL_HELP, MODEL_OPTIONS, positiveInt, provider, resolveModel, str, trainingContext, UsageError, whatIf, type Command } from './args';

export const probeCommand: Command = {
  name: 'probe',
  summary: 'plant a passkey in a copy of the file and measure the attention on it and the answer',
  usage:
    'usage: attention-inspector probe FILE [--models MODEL,MODEL,...] [--context N] [--depths 0,0.5,1] [--provider P] [--json]\n' +
    '  --models LIST           models to compare (default ssmax,softmax)\n' +
    '  --context N             haystack length in tokens, from the start of FILE (default 4096)\n' +
    `  --depths LIST           where the needle goes, 0 = start … 1 = end (default ${DEFAULT_PROBE.depths.join(',')})\n` +
    MODEL_HELP,
  options: {
    ...MODEL_OPTIONS,
    models: { type: 'string', default: 'ssmax,softmax' },
    // taken only to say what to use instead: a probe runs several models
    model: { type: 'string' },
    context: { type: 'string' },
    depths: { type: 'string' },
  },
  positionals: 1,
  async run(values, [file]) {
    if (str(values, 'model') !== undefined) throw new UsageError('--model does not apply to a probe, which runs several models: use --models ID,ID');
    const depths = (str(values, 'depths') ?? DEFAULT_PROBE.depths.join(',')).split(',').map(Number);
    if (depths.some((d) => !(d >= 0 && d <= 1))) throw new UsageError('--depths must be numbers between 0 and 1');
    const contextTokens = positiveInt('context', str(values, 'context'), 4096);
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
    const pct = (v: number) => `${(v * 100).toFixed(2).padStart(6)}%`;
    if (!json)
      console.log(
        `needle "${needleLine(DEFAULT_PROBE.key, DEFAULT_PROBE.value)}" in the first ${contextTokens} tokens of ${file}; weight of the last question token on the value (best head by the model's own view · mean of all heads)`,
      );
    const results = await runProbe(models, text, {
      ...DEFAULT_PROBE,
      depths,
      contextTokens,
      onResult: (r, done, total) => {
        if (json || r.models.length !== models.length) return;
        for (const m of r.models) {
          console.log(
            `depth ${r.depth.toFixed(2)} n=${r.contextTokens} ${m.displayName.padEnd(24)} best L${m.best.layer}H${m.best.head} softmax ${pct(m.best.softmax)} SSMax ${pct(m.best.ssmax)} · mean softmax ${pct(m.mean.softmax)} SSMax ${pct(m.mean.ssmax)} · predicts ${JSON.stringify(m.prediction)}${m.correct ? ' ✓' : ''}  (${done}/${total})`,
          );
        }
      },
    });
    const ms = performance.now() - t0;
    await Promise.all(models.map((m) => m.dispose()));
    if (json)
      console.log(JSON.stringify({ file, needle: needleLine(DEFAULT_PROBE.key, DEFAULT_PROBE.value), contextTokens, ms: Math.round(ms), results }, null, 2));
    else console.log(`${(ms / 1000).toFixed(1)} s`);
    return 0;
  },
};
