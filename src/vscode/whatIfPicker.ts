/**
 * "Attention: Choose What-If Scaling Law…": the law of softmax-trained models' what-if view (src/core/whatIf.ts),
 * picked from a quick pick and written to the user's settings, which reload the model and re-analyse.
 */
import * as vscode from 'vscode';
import { DEFAULT_LLAMA4_BETA, DEFAULT_SSMAX_S, describeWhatIf, WHAT_IF_LAWS, type WhatIfLaw, type WhatIfLawId } from '../core/whatIf';
import { SECTION, type Config } from './config';

const DETAIL: Record<WhatIfLawId, string> = {
  ssmax: "The paper's retrofit: equals softmax at the training length, sharper past it (arXiv 2501.19399)",
  'ssmax-s': 'SSMax with an s you choose (the next step asks)',
  'qwen-logn': "Qwen-7B's log-n attention: softmax up to N, then scores × log_N(n)",
  llama4: "Llama 4's attention temperature (also Ministral 3): scores × (1 + β·ln(1 + ⌊n/F⌋)), F = N here unless attentionInspector.whatIfFloor says",
};

export async function pickWhatIf(config: Config, trainingContext: number | undefined): Promise<WhatIfLaw | undefined> {
  const current = config.whatIf;
  const N = trainingContext ?? 512;
  const items = WHAT_IF_LAWS.map((law) => {
    const d = describeWhatIf({ ...current, law }, N);
    return { label: d.label, description: `${d.formula}${law === current.law ? '  (current)' : ''}`, detail: DETAIL[law], law };
  });
  const pick = await vscode.window.showQuickPick(items, {
    placeHolder: `What-if view of softmax-trained models (N = ${N}, n = keys the query sees); SSMax-trained models keep their own`,
  });
  if (!pick) return undefined;
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const g = vscode.ConfigurationTarget.Global;
  if (pick.law === 'ssmax-s' || pick.law === 'llama4') {
    const isS = pick.law === 'ssmax-s';
    const now = isS ? (current.s ?? DEFAULT_SSMAX_S) : (current.beta ?? DEFAULT_LLAMA4_BETA);
    const value = await vscode.window.showInputBox({
      prompt: isS ? `SSMax's s (1/ln ${N} = ${(1 / Math.log(N)).toFixed(3)} equals softmax at n = ${N})` : "Llama 4's β (0.1 in Llama 4 Scout)",
      value: String(now),
      validateInput: (v) => (Number.isFinite(Number(v)) && Number(v) > 0 && Number(v) <= 10 ? undefined : 'a number in (0, 10]'),
    });
    if (value === undefined) return undefined;
    await cfg.update(isS ? 'whatIfS' : 'whatIfBeta', Number(value), g);
  }
  await cfg.update('whatIf', pick.law, g);
  return config.whatIf;
}
