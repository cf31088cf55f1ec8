/**
 * The toolbar of a view whose results come from a run the user starts (Probe, Needle map): a Run button, a
 * progress ring and a status line. From the click until the host's first result the bar shows "Starting…"
 * (`waiting`); then each result says whether the run is still going, how far it got and how it ended.
 */
import { createButton, createProgress } from '../components';

export interface RunBarOptions {
  label: string;
  title: string;
  buttonId: string;
  progressId: string;
  progressLabel: string;
  statusId?: string;
  onRun(): void;
}

/** What the latest result says: undefined while there is none. */
export interface RunState {
  done: boolean;
  completedRuns: number;
  totalRuns: number;
  /** The status line once done (or failed). */
  status: string;
  error: boolean;
}

export class RunBar {
  readonly element = document.createElement('div');
  private readonly button: ReturnType<typeof createButton>;
  private readonly progress: ReturnType<typeof createProgress>;
  private readonly status = document.createElement('span');
  private waiting = false;

  constructor(o: RunBarOptions) {
    this.element.className = 'view-toolbar';
    this.button = createButton(o.label, { appearance: 'primary', title: o.title });
    this.button.element.id = o.buttonId;
    this.progress = createProgress(o.progressLabel);
    this.progress.element.id = o.progressId;
    this.progress.set(false);
    this.button.onClick(() => {
      this.waiting = true;
      this.button.setDisabled(true);
      this.progress.set(true, 'Starting…');
      o.onRun();
    });
    this.status.className = 'probe-status';
    if (o.statusId) this.status.id = o.statusId;
    this.status.setAttribute('role', 'status');
    this.element.append(this.button.element, this.progress.element, this.status);
  }

  /** A result arrived: the run has started (or ended). */
  received(): void {
    this.waiting = false;
  }

  /** The host reported an error instead of a result: allow another try. Whether the bar was waiting. */
  stopWaiting(): boolean {
    const was = this.waiting;
    this.waiting = false;
    return was;
  }

  update(state: RunState | undefined): void {
    this.button.setDisabled(this.waiting || (!!state && !state.done));
    if (state && !state.done) this.progress.set(true, `${state.completedRuns} / ${state.totalRuns} runs`);
    else if (!this.waiting) this.progress.set(false);
    this.status.textContent = state?.done ? state.status : '';
    this.status.classList.toggle('error', !!state?.error);
  }
}
