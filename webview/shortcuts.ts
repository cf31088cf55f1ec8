/**
 * Panel-wide keyboard shortcuts for the layer and head: [ and ] step through the layer's choices (mean, H0, H1, …),
 * { and } (Shift+[ and Shift+]) step the layer and keep the head. Ignored while typing in a form control, so the
 * dropdown keeps its own keys. The token view's arrow keys live in tokenView.ts.
 */
import type { HeadChoice } from '../src/protocol';

export const SHORTCUTS_HELP = '←/→ token · ↑/↓ line · Home/End · [ / ] head · { / } layer';

export interface ShortcutEvents {
  head(): HeadChoice | undefined;
  shape(): { layers: number; heads: number } | undefined;
  selectHead(head: HeadChoice): void;
}

/** The choice one step from `head`: within the layer (mean → H0 → … → mean) or across layers. */
export function stepHead(head: HeadChoice, shape: { layers: number; heads: number }, key: '[' | ']' | '{' | '}'): HeadChoice {
  if (key === '{' || key === '}') {
    const layer = (head.layer + (key === '}' ? 1 : shape.layers - 1)) % shape.layers;
    return { layer, head: head.head };
  }
  // Index 0 is the mean, 1..heads the single heads.
  const choices = shape.heads + 1;
  const index = head.head === 'mean' ? 0 : head.head + 1;
  const next = (index + (key === ']' ? 1 : choices - 1)) % choices;
  return { layer: head.layer, head: next === 0 ? 'mean' : next - 1 };
}

/** A key pressed in a form control (the head dropdown is components.ts's vscode-single-select) is the control's. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|VSCODE-SINGLE-SELECT|VSCODE-OPTION)$/.test(target.tagName);
}

export function installShortcuts(target: Document, events: ShortcutEvents): void {
  target.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.isComposing || isTyping(e.target)) return;
    if (e.key !== '[' && e.key !== ']' && e.key !== '{' && e.key !== '}') return;
    const head = events.head();
    const shape = events.shape();
    if (!head || !shape) return;
    e.preventDefault();
    events.selectHead(stepHead(head, shape, e.key));
  });
}
