/**
 * What a query past the token cap is told: which token it is, why it has no answer (a token's attention depends on
 * every token before it, so only its whole prefix reaches it), and the setting or flag that does, with its cost.
 * Shared by the CLI and the editor's hover.
 */

/** Why a query past the cap has no answer, and what it would take to get one. */
export function cliPastCap(at: string, position: number, total: number, maxTokens: number, bytesPerToken: number): string {
  const n = position + 1;
  const mb = (n * bytesPerToken) / 2 ** 20;
  // the full analysis grows about quadratically with n: 84 s at 32,768 tokens on a 2-core machine
  // (bench/results/2026-11-24-vm.md); the prefix up to the query is what it costs
  const seconds = 84 * (n / 32768) ** 2;
  const time = seconds < 90 ? `${Math.max(1, Math.round(seconds))} s` : `${Math.round(seconds / 60)} min`;
  return (
    `${at} is token ${position.toLocaleString('en-US')} (0-based) of ${total.toLocaleString('en-US')}, past --max-tokens ${maxTokens.toLocaleString('en-US')}. ` +
    `Rerun with --max-tokens ${n} to reach it: the analysis of its ${n.toLocaleString('en-US')}-token prefix holds about ${Math.round(mb)} MB ` +
    `and takes roughly ${time} on a 2-core CPU (it grows about as n²).`
  );
}

/**
 * Roughly which token (1-based count of tokens up to it) an offset past the cap is, from the analysed tokens'
 * density; undefined when the offset is not past the cap.
 */
export function tokenPastCap(analysed: number, totalTokens: number, coveredChars: number, offset: number): number | undefined {
  if (analysed === 0 || offset < coveredChars || totalTokens <= analysed) return undefined;
  return Math.min(totalTokens, Math.ceil(((offset + 1) * analysed) / Math.max(1, coveredChars)));
}

/**
 * What Inspect says when the cursor's token is past the cap (undefined when it is not): which token, why it has no
 * answer, and, when maxTokens set the cap, the cap that reaches it (a button offers to raise it).
 */
export function inspectPastCap(
  analysed: number,
  totalTokens: number,
  coveredChars: number,
  offset: number,
  byMemory: boolean,
): { text: string; raiseTo?: number } | undefined {
  const estimate = tokenPastCap(analysed, totalTokens, coveredChars, offset);
  if (estimate === undefined) return undefined;
  // a round cap a little past the token, so that the tokens after it are there too
  const raiseTo = Math.min(131072, Math.ceil((estimate * 1.05) / 1024) * 1024);
  const head = `Attention Inspector analysed the first ${analysed.toLocaleString('en-US')} of about ${totalTokens.toLocaleString('en-US')} tokens; the cursor is on about token ${estimate.toLocaleString('en-US')}, past the cap. A token's attention depends on every token before it, so reaching it means analysing its whole prefix: `;
  if (byMemory) return { text: `${head}the cap is attentionInspector.memoryBudgetMb (raise it, or lower maxTokens to analyse less).` };
  if (estimate > 131072) return { text: `${head}it is past 131,072 tokens, the most attentionInspector.maxTokens allows.` };
  return { text: `${head}raise attentionInspector.maxTokens to ${raiseTo.toLocaleString('en-US')}.`, raiseTo };
}

/**
 * What a hover past the token cap says (undefined when the offset is not past it): which token it roughly is, why it
 * has no answer, and the setting that reaches it. The token index is estimated from the analysed tokens' density.
 */
export function hoverPastCap(analysed: number, totalTokens: number, coveredChars: number, offset: number, byMemory: boolean): string | undefined {
  const estimate = tokenPastCap(analysed, totalTokens, coveredChars, offset);
  if (estimate === undefined) return undefined;
  const setting = byMemory ? '`attentionInspector.memoryBudgetMb`' : '`attentionInspector.maxTokens`';
  return (
    `**Attention**: this is about token ${estimate.toLocaleString('en-US')}, past the cap: the first ${analysed.toLocaleString('en-US')} of about ` +
    `${totalTokens.toLocaleString('en-US')} tokens are analysed (${setting}). A token's attention depends on every token before it, so reaching ` +
    `this one means analysing its whole prefix: raise ${setting}${byMemory ? '' : ` to at least ${estimate.toLocaleString('en-US')}`}.`
  );
}
