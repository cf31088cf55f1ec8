/**
 * The shipped models, in the order pickers list them. `models/catalogue.json` (written by training/export.py)
 * names the manifests; each manifest describes its model. Everything that offers a choice of model (the picker,
 * Compare, the probe, the CLI) reads this list instead of naming files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Normaliser } from '../protocol';
import { loadModelFiles, ModelFileError } from './manifest';

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
  /** The id it is compared with by default. */
  counterpart?: string;
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
    const { manifest: m, manifestPath } = loadModelFiles(join(modelsDir, name));
    return {
      id: m.id,
      manifestPath,
      displayName: m.displayName,
      summary: m.summary ?? m.displayName,
      normaliser: m.normaliser,
      trainingContext: m.trainingContext,
      layers: m.architecture.layers,
      heads: m.architecture.heads,
      counterpart: m.counterpart,
    };
  });
  const ids = new Set(entries.map((e) => e.id));
  if (ids.size !== entries.length) throw new ModelFileError(file, 'two catalogue entries share an id');
  return entries;
}

export function findModel(catalogue: readonly CatalogueEntry[], id: string): CatalogueEntry | undefined {
  return catalogue.find((e) => e.id === id);
}

/**
 * The model to compare `primaryId` with: `requested` when it names another shipped model, else (`auto`) the
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
