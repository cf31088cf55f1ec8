/**
 * Execution providers: which to try, in which order, and why one was skipped. onnxruntime has no API that says
 * which provider a session ended up on, and asking for CUDA where it is missing fails session creation outright,
 * so each provider is tried alone (the CPU provider still runs any node a GPU provider can't) and the first
 * session that is created wins.
 */
export type ProviderChoice = 'auto' | 'cuda' | 'dml' | 'coreml' | 'cpu';
export type ProviderName = 'cuda' | 'dml' | 'coreml' | 'cpu';

export const PROVIDER_LABEL: Record<ProviderName, string> = { cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', cpu: 'CPU' };

export function providerOrder(choice: ProviderChoice, platform: NodeJS.Platform): ProviderName[] {
  if (choice === 'cpu') return ['cpu'];
  if (choice !== 'auto') return [choice, 'cpu'];
  switch (platform) {
    case 'win32':
      return ['cuda', 'dml', 'cpu'];
    case 'darwin':
      return ['coreml', 'cpu'];
    case 'linux':
      return ['cuda', 'cpu'];
    default:
      return ['cpu'];
  }
}

export interface SkippedProvider {
  provider: ProviderName;
  reason: string;
}

export interface ProviderResult<S> {
  session: S;
  provider: ProviderName;
  skipped: SkippedProvider[];
}

const HINTS: Record<ProviderName, string> = {
  cuda: 'CUDA needs an NVIDIA GPU with CUDA 12 and cuDNN 9 libraries, and onnxruntime-node installed with its CUDA binaries (ONNXRUNTIME_NODE_INSTALL_CUDA=v12, not skipped)',
  dml: 'DirectML needs Windows 10+ with a DirectX 12 GPU',
  coreml: 'CoreML needs macOS on Apple silicon',
  cpu: '',
};

function shortReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 300);
}

/** Tries the providers in order; throws only if the last one (CPU) fails too, with every reason. */
export async function createWithFallback<S>(
  order: ProviderName[],
  create: (provider: ProviderName) => Promise<S>,
): Promise<ProviderResult<S>> {
  const skipped: SkippedProvider[] = [];
  for (const provider of order) {
    try {
      return { session: await create(provider), provider, skipped };
    } catch (e) {
      const hint = HINTS[provider];
      skipped.push({ provider, reason: `${shortReason(e)}${hint ? ` — ${hint}` : ''}` });
    }
  }
  throw new Error(`no execution provider could run the model: ${skipped.map((s) => `${PROVIDER_LABEL[s.provider]}: ${s.reason}`).join('; ')}`);
}

export function describeFallback(result: { provider: ProviderName; skipped: SkippedProvider[] }): string | undefined {
  if (result.skipped.length === 0) return undefined;
  return `Attention Inspector runs on ${PROVIDER_LABEL[result.provider]}: ${result.skipped
    .map((s) => `${PROVIDER_LABEL[s.provider]} was skipped (${s.reason})`)
    .join('; ')}.`;
}
