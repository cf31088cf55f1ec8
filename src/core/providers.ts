/**
 * Execution providers: which to try, in which order, and why one was skipped. onnxruntime has no API that says
 * which provider a session ended up on, and asking for CUDA where it is missing fails session creation outright,
 * so each provider is tried alone (the CPU provider still runs any node a GPU provider can't) and the first
 * session that is created wins. Which providers a host has: gpuProviders.
 */
export type ProviderName = 'webgpu' | 'cuda' | 'dml' | 'coreml' | 'cpu';
export type ProviderChoice = 'auto' | ProviderName;
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'webgpu', 'cuda', 'dml', 'coreml', 'cpu'];

export const PROVIDER_LABEL: Record<ProviderName, string> = { webgpu: 'WebGPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', cpu: 'CPU' };

/** What the machine offers beyond the CPU; `cudaInstalled`: onnxruntime-node's CUDA provider libraries are present. */
export interface ProviderHost {
  platform: NodeJS.Platform;
  arch: string;
  cudaInstalled: boolean;
}

/**
 * The GPU providers onnxruntime-node 1.30's npm package can run on this host, best first (`listSupportedBackends()`
 * per platform; ../shared/notes/onnxruntime-node.md): WebGPU on linux-x64, win32-x64/arm64 and darwin-arm64;
 * DirectML on Windows; CoreML on macOS; CUDA only on linux-x64, and only when its libraries were installed (the npm
 * package has no CUDA provider for Windows at all).
 */
export function gpuProviders(host: ProviderHost): ProviderName[] {
  const { platform, arch } = host;
  if (platform === 'win32' && (arch === 'x64' || arch === 'arm64')) return ['dml', 'webgpu'];
  if (platform === 'darwin' && arch === 'arm64') return ['coreml', 'webgpu'];
  if (platform === 'linux' && arch === 'x64') return [...(host.cudaInstalled ? (['cuda'] as const) : []), 'webgpu'];
  return [];
}

/** The providers to try in order: always ending with the CPU. An explicit choice the host lacks is still tried
 * (so the reason it fails is said), then the CPU. */
export function providerOrder(choice: ProviderChoice, host: ProviderHost): ProviderName[] {
  if (choice === 'cpu') return ['cpu'];
  if (choice !== 'auto') return [choice, 'cpu'];
  return [...gpuProviders(host), 'cpu'];
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
  webgpu:
    'WebGPU needs a GPU with a Vulkan (Linux), Direct3D 12 (Windows) or Metal (macOS) driver; onnxruntime-node ships it for linux-x64, win32-x64/arm64 and darwin-arm64',
  cuda: 'CUDA runs only on Linux x64 with an NVIDIA GPU, CUDA 12 and cuDNN 9, and onnxruntime-node installed with its CUDA libraries (ONNXRUNTIME_NODE_INSTALL_CUDA=v12 npm install, on a machine with internet)',
  dml: 'DirectML needs Windows 10+ with a DirectX 12 GPU',
  coreml: 'CoreML needs macOS on Apple silicon',
  cpu: '',
};

function shortReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 300);
}

/** Tries the providers in order; throws only if the last one (CPU) fails too, with every reason. */
export async function createWithFallback<S>(order: ProviderName[], create: (provider: ProviderName) => Promise<S>): Promise<ProviderResult<S>> {
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
