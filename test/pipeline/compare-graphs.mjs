// Two exports of the same weights give the same outputs: `node compare-graphs.mjs DIR_A DIR_B [ids]`. training/smoke.sh
// runs it on export.py's node-by-node graph (export_lean, shipped) against the torch export of model.StreamingGPT,
// for both variants, over chunks with and without a past (random past keys/values, so every score path is used).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const [dirA, dirB, idList = 'ssmax,softmax'] = process.argv.slice(2);
const TOLERANCE = 2e-4; // float32, different op orders; the shipped graphs are held to float64 references elsewhere
let failures = 0;
for (const id of idList.split(',')) {
  const manifest = JSON.parse(readFileSync(join(dirA, `${id}.json`), 'utf8'));
  const { layers, heads, headDim, vocabSize } = manifest.architecture;
  const open = (dir) => ort.InferenceSession.create(join(dir, `${id}.onnx`), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const [a, b] = [await open(dirA), await open(dirB)];
  for (const [P, T] of [
    [0, 1],
    [0, 23],
    [70, 9],
    [150, 1],
  ]) {
    const feeds = {
      input_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: T }, (_, i) => BigInt((i * 997 + P) % vocabSize)),
        [1, T],
      ),
    };
    for (let l = 0; l < layers; l++)
      for (const kv of ['k', 'v']) {
        const data = Float32Array.from({ length: P * heads * headDim }, (_, i) => Math.sin(i * 0.37 + l) * 1.5);
        feeds[`past_${kv}_${l}`] = new ort.Tensor('float32', data, [P, heads, headDim]);
      }
    const [oa, ob] = [await a.run(feeds), await b.run(feeds)];
    for (const name of a.outputNames) {
      const x = oa[name].data;
      const y = ob[name]?.data;
      let worst = y && y.length === x.length ? 0 : Infinity;
      for (let i = 0; y && i < x.length && worst < Infinity; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) || (x[i] === y[i] ? 0 : Infinity));
      if (!(worst <= TOLERANCE)) {
        failures++;
        console.error(`${id} P=${P} T=${T} ${name}: largest difference ${worst}`);
      }
    }
  }
}
if (failures) process.exit(1);
console.log(`graphs agree: ${dirA} and ${dirB}`);
