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
 * What a hover past the token cap says (undefined when the offset is not past it): which token it roughly is, why it
 * has no answer, and the setting that reaches it. The token index is estimated from the analysed tokens' density.
 */
export function hoverPastCap(analysed: number, totalTokens: number, coveredChars: number, offset: number, byMemory: boolean): string | undefined {
  if (analysed === 0 || offset < coveredChars || totalTokens <= analysed) return undefined;
  const estimate = Math.min(totalTokens, Math.ceil(((offset + 1) * analysed) / Math.max(1, coveredChars)));
  const setting = byMemory ? '`attentionInspector.memoryBudgetMb`' : '`attentionInspector.maxTokens`';
  return (
    `**Attention**: this is about token ${estimate.toLocaleString('en-US')}, past the cap: the first ${analysed.toLocaleString('en-US')} of about ` +
    `${totalTokens.toLocaleString('en-US')} tokens are analysed (${setting}). A token's attention depends on every token before it, so reaching ` +
    `this one means analysing its whole prefix: raise ${setting}${byMemory ? '' : ` to at least ${estimate.toLocaleString('en-US')}`}.`
  );
}
