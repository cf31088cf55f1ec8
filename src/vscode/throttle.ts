/**
 * A task that runs at once when asked to (`run(true)`: the user changed something), or at most once per interval
 * when background progress asks (`run(false)`: an analysis reported another chunk), so a long analysis does not
 * flood the webview with updates.
 */
export class Throttle {
  private timer: NodeJS.Timeout | undefined;
  private lastRun = 0;

  constructor(
    private readonly task: () => void,
    private readonly intervalMs = 1000,
  ) {}

  run(immediate: boolean): void {
    if (this.timer) {
      if (!immediate) return; // one is already due
      clearTimeout(this.timer);
    }
    const wait = immediate ? 0 : Math.max(0, this.intervalMs - (Date.now() - this.lastRun));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastRun = Date.now();
      this.task();
    }, wait);
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
