import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { addedModelEntry, comparisonModel, findModel, loadCatalogue, type CatalogueEntry } from '../../src/core/catalogue';
import { ModelFileError } from '../../src/core/manifest';
import { fixture, modelsDir, ROOT } from './paths';

const entry = (id: string, normaliser: 'softmax' | 'ssmax', counterpart?: string): CatalogueEntry => ({
  id,
  manifestPath: `/m/${id}.json`,
  displayName: id,
  summary: id,
  normaliser,
  trainingContext: 512,
  layers: 4,
  heads: 4,
  kvHeads: 4,
  bytesPerToken: 1,
  leanBytesPerToken: 1,
  source: 'shipped',
  counterpart,
});

describe('model catalogue: the shipped models', () => {
  const shipped = loadCatalogue(modelsDir);

  it('lists every shipped manifest once, each of which loads, the default first', () => {
    assert.ok(shipped.length >= 2);
    assert.equal(shipped[0].id, 'ssmax');
    assert.deepEqual(new Set(shipped.map((e) => e.normaliser)), new Set(['softmax', 'ssmax']));
    for (const e of shipped) assert.ok(e.summary.length > 10, `${e.id} says what it is`);
  });

  it("package.json's model and compareModel settings name every shipped id and take added ones (no closed enum)", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { enum?: string[]; markdownDescription: string }> } };
    };
    const props = pkg.contributes.configuration.properties;
    for (const key of ['attentionInspector.model', 'attentionInspector.compareModel']) {
      assert.equal(props[key].enum, undefined, `${key} accepts the id of an added model`);
      for (const e of shipped) assert.ok(props[key].markdownDescription.includes(`\`${e.id}\``), `${key} describes ${e.id}`);
    }
  });

  it('every counterpart names another shipped model', () => {
    for (const e of shipped) {
      if (e.counterpart === undefined) continue;
      assert.notEqual(e.counterpart, e.id);
      assert.ok(findModel(shipped, e.counterpart), `${e.id}'s counterpart ${e.counterpart} is shipped`);
    }
  });
});

describe('model catalogue: which model Compare runs', () => {
  const cat = [entry('ssmax', 'ssmax', 'softmax'), entry('softmax', 'softmax', 'ssmax'), entry('retrofit', 'ssmax', 'softmax'), entry('plain', 'softmax')];

  it('auto: the counterpart', () => {
    assert.equal(comparisonModel(cat, 'ssmax')?.id, 'softmax');
    assert.equal(comparisonModel(cat, 'softmax')?.id, 'ssmax');
    assert.equal(comparisonModel(cat, 'retrofit')?.id, 'softmax');
  });
  it('auto without a counterpart: the first model with the other normaliser', () => {
    assert.equal(comparisonModel(cat, 'plain')?.id, 'ssmax');
    assert.equal(comparisonModel(cat, 'a-user-model')?.id, 'ssmax', 'a model outside the catalogue gets the first other one');
  });
  it('an explicit choice wins, but never the main model itself', () => {
    assert.equal(comparisonModel(cat, 'ssmax', 'retrofit')?.id, 'retrofit');
    assert.equal(comparisonModel(cat, 'ssmax', 'ssmax')?.id, 'softmax');
    assert.equal(comparisonModel(cat, 'ssmax', 'no-such-model')?.id, 'softmax');
  });
  it('a catalogue of one model has nothing to compare with', () => {
    assert.equal(comparisonModel([entry('ssmax', 'ssmax', 'softmax')], 'ssmax'), undefined);
  });
});

describe('model catalogue: a broken catalogue names its file', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"models": [', /cannot read the model catalogue/],
    ['no list', '{"models": "ssmax.json"}', /must list manifest file names/],
    ['an empty list', '{"models": []}', /must list manifest file names/],
    ['a path outside the folder', '{"models": ["../ssmax.json"]}', /must list manifest file names/],
    ['the same model twice', '{"models": ["ssmax.json", "ssmax.json"]}', /share an id/],
    ['a manifest that does not exist', '{"models": ["nope.json"]}', /cannot read the model manifest/],
  ];
  for (const [name, text, detail] of cases) {
    it(name, () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ai-catalogue-'));
      copyFileSync(path.join(modelsDir, 'ssmax.json'), path.join(dir, 'ssmax.json'));
      writeFileSync(path.join(dir, 'catalogue.json'), text);
      assert.throws(
        () => loadCatalogue(dir),
        (e: unknown) => e instanceof ModelFileError && e.message.includes(dir) && detail.test(e.message),
      );
    });
  }
});

describe('model catalogue: added Hugging Face folders', () => {
  it('describes a folder from its config.json: family, heads and key heads, training length, memory per token', () => {
    const e = addedModelEntry(fixture('hf', 'llama'));
    assert.equal(e.source, 'added');
    assert.equal(e.family, 'Llama');
    assert.equal(e.normaliser, 'softmax');
    assert.equal(e.heads, 4);
    assert.equal(e.kvHeads, 2);
    assert.equal(e.trainingContext, 64);
    // 2 layers × ((4 + 2·2) heads × 8 + 4·4 statistics) × 4 bytes + 8
    assert.equal(e.bytesPerToken, 2 * ((4 + 4) * 8 + 16) * 4 + 8);
    assert.match(e.summary, /what-if/);
  });

  it('an added softmax model is compared with a shipped SSMax model by default', () => {
    const shipped = loadCatalogue(modelsDir);
    const added = addedModelEntry(fixture('hf', 'gpt2'));
    assert.equal(comparisonModel([...shipped, added], added.id)?.normaliser, 'ssmax');
  });

  it('the training length can be overridden per model', () => {
    assert.equal(addedModelEntry(fixture('hf', 'llama'), 4096).trainingContext, 4096);
  });
});
