/**
 * `inspect FILE --at LINE:COL`: for the token at LINE:COL (1-based), the top attended tokens of every layer × head
 * under softmax and SSMax, their focus statistics, and the timings. The model is causal (the query at token p
 * depends only on tokens 0…p), so only that prefix is analysed unless --all asks for the whole file.
 */
import { readFileSync } from 'node:fs';
import { cliPastCap } from '../core/cap';
import { AttentionModel } from '../core/model';
import { PROVIDER_LABEL } from '../core/providers';
import { tokenAtOffset, tokenInfos, tokenLabel } from '../core/tokenText';
import { flag, MODEL_HELP, MODEL_OPTIONS, positiveInt, provider, resolveModel, str, trainingContext, UsageError, whatIf, type Command } from './args';
import { modelWhatIf } from '../core/whatIf';

function offsetOf(text: string, line: number, col: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) throw new UsageError(`line ${line} is past the end of the file`);
    offset = nl + 1;
  }
  return offset + col - 1;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'the top attended tokens of every head for the token at LINE:COL, under softmax and SSMax',
  usage:
    'usage: attention-inspector inspect FILE --at LINE:COL [--model MODEL] [--top K] [--max-tokens N] [--all] [--provider P] [--json]\n' +
    '  --at LINE:COL           the query token (1-based line and column)\n' +
    '  --model MODEL           default ssmax\n' +
    '  --top K                 attended tokens listed per head (default 5)\n' +
    '  --max-tokens N          the cap on analysed tokens (default 32768)\n' +
    '  --all                   analyse the whole file up to --max-tokens, not only the prefix up to the query\n' +
    MODEL_HELP,
  options: {
    ...MODEL_OPTIONS,
    at: { type: 'string' },
    model: { type: 'string' },
    top: { type: 'string' },
    'max-tokens': { type: 'string' },
    all: { type: 'boolean' },
  },
  positionals: 1,
  async run(values, [file]) {
    const at = str(values, 'at');
    if (at === undefined) throw new UsageError('--at LINE:COL is required');
    const m = /^(\d+):(\d+)$/.exec(at);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`--at must be LINE:COL (1-based), got ${at}`);
    const manifestPath = resolveModel(str(values, 'model') ?? 'ssmax');
    const maxTokens = positiveInt('max-tokens', str(values, 'max-tokens'), 32768);
    const k = positiveInt('top', str(values, 'top'), 5);
    const choice = provider(values);
    const text = readFileSync(file, 'utf8');
    const offset = offsetOf(text, Number(m[1]), Number(m[2]));
    const t0 = performance.now();
    const model = await AttentionModel.load({ manifestPath, provider: choice, trainingContext: trainingContext(values), whatIf: whatIf(values) });
    const tLoad = performance.now() - t0;
    const whole = model.tokenize(text, Number.MAX_SAFE_INTEGER).tokens;
    const position = tokenAtOffset(whole, offset);
    if (position < 0) {
      await model.dispose();
      throw new Error(`${at} has no token (the file is empty)`);
    }
    if (position >= maxTokens) {
      await model.dispose();
      throw new Error(cliPastCap(at, position, whole.ids.length, maxTokens, model.bytesPerToken));
    }
    const analysis = await model.analyse(text, { maxTokens: flag(values, 'all') ? maxTokens : position + 1 });
    const tAnalyse = performance.now() - t0 - tLoad;
    const infos = tokenInfos(text, analysis.tokens);
    const { layers, heads } = model.manifest.architecture;
    const tRows0 = performance.now();
    await model.prepareQueries(analysis, [position]);
    const results = [];
    for (let layer = 0; layer < layers; layer++) {
      for (let head = 0; head < heads; head++) {
        const rows = analysis.rows(position, { layer, head });
        results.push({
          layer,
          head,
          stats: rows.stats,
          top: analysis.top(rows, k).map((t) => ({ ...t, text: infos[t.position].text, line: infos[t.position].line + 1 })),
        });
      }
    }
    const tRows = performance.now() - tRows0;
    const summary = {
      file,
      model: model.manifest.displayName,
      normaliser: model.manifest.normaliser,
      trainingContext: model.manifest.trainingContext,
      provider: model.provider,
      tokens: analysis.length,
      totalTokens: whole.ids.length,
      query: { position, n: position + 1, text: infos[position].text, line: infos[position].line + 1 },
      timingsMs: { load: Math.round(tLoad), analyse: Math.round(tAnalyse), rowsAllHeads: +tRows.toFixed(2) },
      heads: results,
    };
    await model.dispose();
    if (flag(values, 'json')) {
      console.log(JSON.stringify(summary, null, 2));
      return 0;
    }
    const pct = (v: number) => `${(v * 100).toFixed(1).padStart(5)}%`;
    // a softmax-trained model's length-scaled view is the what-if, named by its law
    const law = modelWhatIf(model.manifest);
    const scaled = law?.label ?? 'SSMax';
    console.log(`${summary.model} (own normaliser: ${summary.normaliser}, trained at ${summary.trainingContext}) on ${PROVIDER_LABEL[model.provider]}`);
    const prefix = summary.tokens < summary.totalTokens ? ` (the prefix up to the query, of ${summary.totalTokens}; --all for more)` : '';
    console.log(
      `${summary.file}: ${summary.tokens} tokens analysed${prefix}; query "${tokenLabel(summary.query.text)}" at position n=${summary.query.n} (line ${summary.query.line})`,
    );
    if (law) console.log(`what-if view: ${law.label} = ${law.formula} (${law.source})`);
    console.log(`load ${summary.timingsMs.load} ms · analysis ${summary.timingsMs.analyse} ms · rows for all heads ${summary.timingsMs.rowsAllHeads} ms\n`);
    for (const r of results) {
      const s = r.stats;
      console.log(
        `L${r.layer} H${r.head}  max softmax ${pct(s.softmax.maxWeight)} ${scaled} ${pct(s.ssmax.maxWeight)} · entropy softmax ${s.softmax.entropy.toFixed(2)} ${scaled} ${s.ssmax.entropy.toFixed(2)} nats`,
      );
      for (const t of r.top)
        console.log(`    ${tokenLabel(t.text).padEnd(24)} line ${String(t.line).padStart(5)}  softmax ${pct(t.softmax)}  ${scaled} ${pct(t.ssmax)}`);
    }
    return 0;
  },
};
