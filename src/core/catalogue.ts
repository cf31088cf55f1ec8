/**
 * The models a user can pick, in the order pickers list them: the shipped ones (`models/catalogue.json`, written by
 * training/export.py, names their manifests), then the Hugging Face export folders the user added. Everything that
 * offers a choice of model (the picker, Compare, the probe, the CLI) reads this list instead of naming files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Normaliser } from './domain';
import { describeHfFolder, SUPPORTED_FAMILIES } from './hfModel';
import { attentionShape, bytesPerTokenOf, loadModelFiles, ModelFileError, type ModelManifest } from './manifest';

export interface CatalogueEntry {
  id: string;
  manifestPath: string;
  displayName: string;
  summary: string;
  /** The normaliser the model runs as its own. */
  normaliser: Normaliser;
  trainingContext: number;
  layers: number;
  heads: number;
  /** Key heads (fewer than `heads` under grouped-query attention). */
  kvHeads: number;
  /** Memory an analysis holds per token of the document. */
  bytesPerToken: number;
  /** The same without the queries, which an analysis leaves out (recomputing them on demand) when the budget is short. */
  leanBytesPerToken: number;
  /** Shipped with the extension, or a folder the user added. */
  source: 'shipped' | 'added';
  /** The architecture family of an added model (config.json `model_type`). */
  family?: string;
  /** The id it is compared with by default. */
  counterpart?: string;
}

function entryOf(m: ModelManifest, manifestPath: string, source: CatalogueEntry['source'], family?: string): CatalogueEntry {
  return {
    id: m.id,
    manifestPath,
    displayName: m.displayName,
    summary: m.summary ?? m.displayName,
    normaliser: m.normaliser,
    trainingContext: m.trainingContext,
    layers: m.architecture.layers,
    heads: m.architecture.heads,
    kvHeads: attentionShape(m).kvHeads,
    bytesPerToken: bytesPerTokenOf(m),
    leanBytesPerToken: bytesPerTokenOf(m, false),
    source,
    family,
    counterpart: m.counterpart,
  };
}

/** The catalogue entry of a Hugging Face export folder (reads config.json and the file list; throws ModelFileError). */
export function addedModelEntry(dir: string, trainingContext?: number): CatalogueEntry {
  const folder = describeHfFolder(dir, { trainingContext });
  return entryOf(folder.manifest, dir, 'added', SUPPORTED_FAMILIES[folder.modelType]);
}

export const CATALOGUE_FILE = 'catalogue.json';

/** Reads `<modelsDir>/catalogue.json` and every manifest it names (errors name the file). */
export function loadCatalogue(modelsDir: string): CatalogueEntry[] {
  const file = join(modelsDir, CATALOGUE_FILE);
  let listed: unknown;
  try {
    listed = (JSON.parse(readFileSync(file, 'utf8')) as { models?: unknown }).models;
  } catch (e) {
    throw new ModelFileError(file, `cannot read the model catalogue: ${(e as Error).message}`);
  }
  if (!Array.isArray(listed) || listed.length === 0 || !listed.every((m): m is string => typeof m === 'string' && /^[\w.-]+\.json$/.test(m))) {
    throw new ModelFileError(file, 'the model catalogue must list manifest file names');
  }
  const entries = listed.map((name): CatalogueEntry => {
    const { manifest, manifestPath } = loadModelFiles(join(modelsDir, name));
    return entryOf(manifest, manifestPath, 'shipped');
  });
  const ids = new Set(entries.map((e) => e.id));
  if (ids.size !== entries.length) throw new ModelFileError(file, 'two catalogue entries share an id');
  return entries;
}

export function findModel(catalogue: readonly CatalogueEntry[], id: string): CatalogueEntry | undefined {
  return catalogue.find((e) => e.id === id);
}

/**
 * The model to compare `primaryId` with: `requested` when it names another model, else (`auto`) the
 * primary's counterpart, else the first model that runs the other normaliser, else the first other model.
 */
export function comparisonModel(catalogue: readonly CatalogueEntry[], primaryId: string | undefined, requested = 'auto'): CatalogueEntry | undefined {
  const others = catalogue.filter((e) => e.id !== primaryId);
  const primary = primaryId === undefined ? undefined : findModel(catalogue, primaryId);
  return (
    others.find((e) => e.id === requested) ??
    others.find((e) => e.id === primary?.counterpart) ??
    others.find((e) => primary !== undefined && e.normaliser !== primary.normaliser) ??
    others[0]
  );
}
