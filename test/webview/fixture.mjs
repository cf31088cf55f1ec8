// The stand-in host's data. If out/test/webview-fixture.json exists (generated from the real shipped models by
// test/tools/makeWebviewFixture.ts, which `npm test` runs before the webview tests) it is used
// as is: { document: <the 'document' HostToWebview message>, attention: { "<position>": AttentionPayload } }
// for the default head, heads: { "<position>": HeadsPayload }, focus: { "<layer>:<head>": FocusCurvePayload },
// comparison: { model, attention: { "<position>": AttentionPayload } } (the other shipped model), and, once the
// host side adds it, probe: ProbePayload, needleMap: NeedleMapPayload. Otherwise a fixture with the same shapes is generated here: the first 300 lines of
// media/sample/long_sample.py, tokenised naively on word boundaries, with deterministic attention rows
// (softmax and SSMax of the same pseudo-random logits, SSMax as softmax(s·ln n·z)).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const FIXTURE_JSON = here('../../out/test/webview-fixture.json');
const SAMPLE = here('../../media/sample/long_sample.py');
const SSMAX_S = 0.43;
const TOP_K = 10;

/** Splits text into tokens that concatenate back to it exactly: newlines, other whitespace runs, words, single symbols. */
export function naiveTokens(text) {
  const tokens = [];
  let line = 0;
  for (const m of text.matchAll(/\r?\n|[^\S\n]+|\w+|[^\w\s]/gu)) {
    tokens.push({ text: m[0], line, start: m.index, end: m.index + m[0].length });
    if (m[0].endsWith('\n')) line++;
  }
  return tokens;
}

export function documentMessage(uri, text, { fileName = uri.split('/').pop(), version = 1, cap } = {}) {
  const all = naiveTokens(text);
  const tokens = cap ? all.slice(0, cap) : all;
  return {
    type: 'document',
    doc: { uri, fileName, version, tokens, totalTokens: all.length, maxTokens: cap ?? 8192 },
    model: {
      id: 'fixture-ssmax',
      displayName: 'Fixture Tiny (SSMax)',
      summary: 'a stand-in model for the webview test',
      normaliser: 'ssmax',
      trainingContext: 512,
      layers: 4,
      heads: 4,
      executionProvider: 'CPU',
    },
  };
}

/** Deterministic hash of integers to [0, 1). */
function unit(...xs) {
  let h = 2166136261;
  for (const x of xs) {
    h ^= x;
    h = Math.imul(h, 16777619);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
  }
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}

function softmax(z, scale) {
  const m = Math.max(...z.map((v) => v * scale));
  const e = z.map((v) => Math.exp(v * scale - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function focus(w) {
  const n = w.length;
  const entropy = -w.reduce((acc, p) => (p > 0 ? acc + p * Math.log(p) : acc), 0);
  return { maxWeight: Math.max(...w), entropy, normalisedEntropy: n > 1 ? entropy / Math.log(n) : 0 };
}

/** An attention row for `position` under `head`, built like the engine's output would be. */
export function generatedAttention(docMessage, position, head) {
  const { doc, model } = docMessage;
  const seed = head.layer * 131 + (head.head === 'mean' ? 97 : head.head);
  const query = doc.tokens[position].text.trim();
  const z = [];
  for (let j = 0; j <= position; j++) {
    const t = doc.tokens[j].text;
    let logit = 3 * unit(seed, position, j);
    if (j === 0) logit += 2.5; // a sink, as real models have
    if (query && t.trim() === query && j !== position) logit += 2;
    logit += 2 * Math.exp(-(position - j) / 6); // recency
    if (!t.trim()) logit -= 1.5; // whitespace attracts less
    z.push(logit);
  }
  const n = position + 1;
  const soft = softmax(z, 1);
  const ss = softmax(z, SSMAX_S * Math.log(Math.max(n, 2)));
  const own = model.normaliser === 'ssmax' ? ss : soft;
  const order = own
    .map((_, i) => i)
    .sort((a, b) => own[b] - own[a] || a - b)
    .slice(0, TOP_K);
  return {
    uri: doc.uri,
    version: doc.version,
    position,
    n,
    head,
    softmax: soft,
    ssmax: ss,
    stats: { softmax: focus(soft), ssmax: focus(ss) },
    top: order.map((p) => ({ position: p, text: doc.tokens[p].text, line: doc.tokens[p].line, softmax: soft[p], ssmax: ss[p] })),
  };
}

export function loadFixture() {
  if (existsSync(FIXTURE_JSON)) {
    const json = JSON.parse(readFileSync(FIXTURE_JSON, 'utf8'));
    return {
      source: 'webview-fixture.json, from the shipped models',
      document: json.document,
      attention: json.attention,
      text: documentText(json.document),
      heads: json.heads ?? {},
      focus: json.focus ?? {},
      comparison: json.comparison,
      probe: json.probe,
      needleMap: json.needleMap,
      loss: json.loss,
    };
  }
  const text = readFileSync(SAMPLE, 'utf8').split('\n').slice(0, 300).join('\n') + '\n';
  const document = documentMessage('file:///work/sample/long_sample.py', text);
  return {
    source: 'generated from media/sample/long_sample.py',
    document,
    attention: {},
    text,
    heads: {},
    focus: {},
    comparison: undefined,
    probe: undefined,
    needleMap: undefined,
  };
}

/** The analysed text: the concatenated tokens (offsets are checked against it too). */
export function documentText(docMessage) {
  return docMessage.doc.tokens.map((t) => t.text).join('');
}

export function defaultHead(docMessage) {
  return { layer: docMessage.model.layers - 1, head: 'mean' };
}

/**
 * The real fixture tiled to at least `minTokens` tokens: tokens repeat with their lines and offsets shifted, and the
 * attention row of the last token is the fixture's real row for its last token, tiled the same way (not
 * renormalised: only colours and timings use it). No number is made up; only the document is longer.
 */
export function tiledDocument(fixture, minTokens) {
  const base = fixture.document.doc.tokens;
  const tileText = documentText(fixture.document);
  const tileLines = (tileText.match(/\n/g) ?? []).length;
  const tiles = Math.ceil(minTokens / base.length);
  const tokens = [];
  for (let k = 0; k < tiles; k++) {
    for (const t of base) tokens.push({ ...t, line: t.line + k * tileLines, start: t.start + k * tileText.length, end: t.end + k * tileText.length });
  }
  const document = {
    type: 'document',
    doc: { ...fixture.document.doc, uri: 'file:///work/big.py', fileName: 'big.py', tokens, totalTokens: tokens.length, maxTokens: tokens.length },
    model: fixture.document.model,
  };
  const n = tokens.length;
  const lastRow = fixture.attention[String(base.length - 1)];
  if (!lastRow) throw new Error('the fixture has no row for its last token');
  const tile = (row) => Array.from({ length: tiles }, () => row).flat();
  const offset = (tiles - 1) * base.length;
  const row = {
    ...lastRow,
    uri: document.doc.uri,
    position: n - 1,
    n,
    softmax: tile(lastRow.softmax),
    ssmax: tile(lastRow.ssmax),
    top: lastRow.top.map((t) => ({ ...t, position: t.position + offset, line: t.line + (tiles - 1) * tileLines })),
  };
  return { document, row };
}
