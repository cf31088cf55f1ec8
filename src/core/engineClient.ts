/**
 * Host side of the model process: forks it, sends requests with ids, resolves each with its response, and starts
 * the process again (replaying the last `load`) when it died. Free of `vscode`, so it is tested in plain Node.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { EngineEvent, EngineMethod, EngineMethods, EngineResponse } from './engineProtocol';

export class EngineError extends Error {
  constructor(
    message: string,
    readonly cancelled = false,
    readonly crashed = false,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class EngineClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lastLoad: EngineMethods['load']['params'] | undefined;
  private disposed = false;
  private readonly eventListeners = new Set<(e: EngineEvent) => void>();
  private readonly exitListeners = new Set<(info: { code: number | null; signal: NodeJS.Signals | null }) => void>();
  /** Number of times the process had to be started again after dying. */
  restarts = 0;

  constructor(
    private readonly entry: string,
    private readonly log: (line: string) => void = () => undefined,
    /** Added to the model process's environment (tests lower its limits this way). */
    private readonly env: Record<string, string> = {},
  ) {}

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onExit(listener: (info: { code: number | null; signal: NodeJS.Signals | null }) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Requests sent, by method (the in-host tests check that one click costs one rows request). */
  readonly sent: Partial<Record<EngineMethod, number>> = {};

  async request<M extends EngineMethod>(method: M, params: EngineMethods[M]['params']): Promise<EngineMethods[M]['result']> {
    if (this.disposed) throw new EngineError('the model process has been shut down');
    this.sent[method] = (this.sent[method] ?? 0) + 1;
    if (method === 'load') this.lastLoad = params as EngineMethods['load']['params'];
    if (!this.child) {
      this.start();
      if (method !== 'load' && this.lastLoad) {
        this.restarts++;
        await this.send('load', this.lastLoad);
      }
    }
    return this.send(method, params);
  }

  private send<M extends EngineMethod>(method: M, params: EngineMethods[M]['params']): Promise<EngineMethods[M]['result']> {
    const child = this.child;
    if (!child) return Promise.reject(new EngineError('the model process is not running', false, true));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, method, params }, (err) => {
        if (err) {
          this.pending.delete(id);
          reject(new EngineError(`could not reach the model process: ${err.message}`, false, true));
        }
      });
    });
  }

  private start(): void {
    const child = fork(this.entry, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
      env: { ...process.env, ...this.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    this.child = child;
    this.log(`model process started (pid ${child.pid})`);
    child.stdout?.on('data', (d: Buffer) => this.log(`[model] ${d.toString().trimEnd()}`));
    child.stderr?.on('data', (d: Buffer) => this.log(`[model] ${d.toString().trimEnd()}`));
    child.on('message', (raw: unknown) => this.receive(raw));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const crashed = !this.disposed;
      for (const p of this.pending.values()) {
        p.reject(new EngineError(`the model process exited (${signal ?? `code ${code}`})`, false, crashed));
      }
      this.pending.clear();
      if (crashed) {
        this.log(`model process exited unexpectedly (${signal ?? `code ${code}`}); it starts again on the next request`);
        for (const l of this.exitListeners) l({ code, signal });
      }
    });
  }

  private receive(raw: unknown): void {
    const msg = raw as EngineResponse | EngineEvent;
    if ('event' in msg) {
      for (const l of this.eventListeners) l(msg);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new EngineError(msg.error, msg.cancelled ?? false));
  }

  /** For tests and the "kill" path: ends the process as a crash would. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  dispose(): void {
    this.disposed = true;
    const child = this.child;
    this.child = undefined;
    child?.disconnect();
    child?.kill();
    for (const p of this.pending.values()) p.reject(new EngineError('the model process has been shut down'));
    this.pending.clear();
  }
}
