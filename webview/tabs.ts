/**
 * The views area's tabs, as the WAI-ARIA tabs pattern: role=tablist of role=tab buttons, each controlling a
 * role=tabpanel; Left/Right (and Home/End) move between tabs and open them; only the open tab is in the Tab order.
 * Plain buttons styled with --vscode-* variables: the deprecated toolkit's panels are not needed for this.
 */
import type { ViewId } from '../src/protocol';
import type { InspectorView } from './views/view';
import { required } from './dom';

export interface TabsEvents {
  /** A tab was opened by the user. */
  open(view: InspectorView): void;
}

export class Tabs {
  private readonly tabs = new Map<ViewId, HTMLButtonElement>();
  private readonly panels = new Map<ViewId, HTMLElement>();
  private openView: InspectorView;

  constructor(
    tablist: HTMLElement,
    panelHost: HTMLElement,
    private readonly views: readonly InspectorView[],
    private readonly events: TabsEvents,
  ) {
    tablist.setAttribute('role', 'tablist');
    tablist.setAttribute('aria-label', 'Views');
    for (const view of views) {
      const tab = document.createElement('button');
      tab.type = 'button';
      tab.className = 'tab';
      tab.id = `tab-${view.id}`;
      tab.dataset.view = view.id;
      tab.setAttribute('role', 'tab');
      tab.setAttribute('aria-controls', `panel-${view.id}`);
      tab.textContent = view.label;
      tab.addEventListener('click', () => this.openByUser(view));
      tab.addEventListener('keydown', (e) => this.onKey(e, view));
      const panel = document.createElement('section');
      panel.className = 'tab-panel';
      panel.id = `panel-${view.id}`;
      panel.setAttribute('role', 'tabpanel');
      panel.setAttribute('aria-labelledby', tab.id);
      panel.append(view.element);
      this.tabs.set(view.id, tab);
      this.panels.set(view.id, panel);
      tablist.append(tab);
      panelHost.append(panel);
    }
    this.openView = required(views[0], 'view');
    this.open(this.openView.id);
  }

  get current(): InspectorView {
    return this.openView;
  }

  /** Opens a tab without telling the listener (restoring a saved state). */
  open(id: ViewId): void {
    const view = this.views.find((v) => v.id === id);
    if (!view) return;
    this.openView = view;
    for (const [key, tab] of this.tabs) {
      const selected = key === id;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      required(this.panels.get(key), `the ${key} panel`).hidden = !selected;
    }
  }

  private openByUser(view: InspectorView): void {
    this.open(view.id);
    this.events.open(view);
  }

  private onKey(e: KeyboardEvent, view: InspectorView): void {
    const index = this.views.indexOf(view);
    const last = this.views.length - 1;
    let next: number;
    switch (e.key) {
      case 'ArrowLeft':
        next = index === 0 ? last : index - 1;
        break;
      case 'ArrowRight':
        next = index === last ? 0 : index + 1;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = last;
        break;
      default:
        return;
    }
    e.preventDefault();
    const target = this.views[next];
    this.openByUser(target);
    required(this.tabs.get(target.id), `the ${target.id} tab`).focus();
  }
}
