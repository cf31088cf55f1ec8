/**
 * What every CLI subcommand shares: the command shape, option parsing that rejects what it does not know, checked
 * numbers and providers, and model resolution (a shipped id, a manifest path, or a Hugging Face export folder).
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { findModel, loadCatalogue } from '../core/catalogue';
import { PROVIDER_CHOICES, type ProviderChoice } from '../core/providers';
import { DEFAULT_SSMAX_S, parseWhatIf, WHAT_IF_LAWS, type WhatIfLaw } from '../core/whatIf';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed option values as parseArgs gives them: strings and booleans only (no multiples here). */
export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  readonly name: string;
  /** One line for the overall help. */
  readonly summary: string;
  /** The command's own usage text (`attention-inspector NAME --help`). */
  readonly usage: string;
  readonly options: Options;
  /** How many positionals it takes (e.g. FILE). */
  readonly positionals: number;
  run(values: Values, positionals: string[]): Promise<number>;
}

/** A usage mistake: printed with the command's usage and exit code 2 (not a crash, not a run failure). */
export class UsageError extends Error {}

/** Options every command that runs a model takes. */
export const MODEL_OPTIONS: Options = {
  provider: { type: 'string', default: 'auto' },
  'training-context': { type: 'string' },
  'what-if': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

export const MODEL_HELP =
  '  --provider P            auto | ' +
  PROVIDER_CHOICES.filter((p) => p !== 'auto').join(' | ') +
  ' (default auto: the platform GPU providers in turn, then the CPU)\n' +
  "  --training-context N    the N of an exported folder's SSMax what-if, softmax((ln n / ln N)·z), instead of config.json's\n" +
  "  --what-if LAW           a softmax-trained model's what-if view: ssmax (default, s = 1/ln N), ssmax-s:S (s·ln n),\n" +
  '                          qwen-logn (max(1, ln n / ln N)), llama4[:BETA[:F]] (1 + β·ln(1 + ⌊n/F⌋); 0.1, F = N)\n' +
  '  --json                  machine-readable output\n' +
  'MODEL: a shipped id (models/catalogue.json), a manifest path, or a folder exported from Hugging Face\n' +
  '       (optimum-cli export onnx --task text-generation-with-past).';

/** parseArgs with the command's options, strict: an unknown or misspelt flag is an error, never ignored. */
export function parse(command: Command, argv: string[]): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: command.options, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

export function positiveInt(name: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}

export function provider(values: Values): ProviderChoice {
  const given = str(values, 'provider') ?? 'auto';
  const choice = PROVIDER_CHOICES.find((p) => p === given);
  if (!choice) throw new UsageError(`--provider must be one of ${PROVIDER_CHOICES.join(', ')}, got ${given}`);
  return choice;
}

export function trainingContext(values: Values): number | undefined {
  const v = str(values, 'training-context');
  return v === undefined ? undefined : positiveInt('training-context', v);
}

/** --what-if LAW[:PARAM[:PARAM]] as a law (whatIf.ts); undefined: the default. */
export function whatIf(values: Values): WhatIfLaw | undefined {
  const v = str(values, 'what-if');
  if (v === undefined) return undefined;
  const [law, ...params] = v.split(':');
  const names = law === 'ssmax-s' ? ['s'] : law === 'llama4' ? ['beta', 'floor'] : [];
  const candidate: Record<string, unknown> = { law };
  params.forEach((x, i) => {
    if (i < names.length) candidate[names[i]] = Number(x);
  });
  if (law === 'ssmax-s') candidate.s ??= DEFAULT_SSMAX_S;
  const parsed = parseWhatIf(candidate);
  if (!parsed || params.length > names.length) {
    throw new UsageError(`--what-if must be ${WHAT_IF_LAWS.join(', ')} (ssmax-s:S, llama4:BETA:F with positive numbers, F whole), got ${JSON.stringify(v)}`);
  }
  return parsed;
}

const MODELS_DIR = path.join(__dirname, '..', 'models');

/** A shipped model's id (models/catalogue.json), a path to a manifest, or a Hugging Face export folder. */
export function resolveModel(idOrPath: string): string {
  const catalogue = loadCatalogue(MODELS_DIR);
  const shipped = findModel(catalogue, idOrPath);
  if (shipped) return shipped.manifestPath;
  const isFolder = existsSync(idOrPath) && statSync(idOrPath).isDirectory();
  if (!isFolder && !/[\\/]|\.json$/.test(idOrPath)) {
    throw new UsageError(
      `unknown model "${idOrPath}": shipped models are ${catalogue.map((e) => e.id).join(', ')} (or give a manifest path or an exported folder)`,
    );
  }
  return path.resolve(idOrPath);
}
