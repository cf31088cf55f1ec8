/**
 * Our thin component layer. This is the ONLY module that may import @vscode-elements/elements (the ESLint
 * rule no-restricted-imports enforces it).
 *
 * The elements are @vscode-elements/elements (lit web components that follow VS Code's own look), the
 * maintained successor of @vscode/webview-ui-toolkit, which was deprecated and archived in January 2025.
 * Everything else in the webview talks to the small typed handles below (createButton, createDropdown,
 * createCheckbox, createProgress, createDivider, createBadge), never to the elements or their properties,
 * so the component library can be swapped again, or replaced by plain HTML styled with --vscode-*
 * variables, by editing this file (and the few ::part rules in media/webview.css) alone.
 *
 * Only the element modules we use are imported (not the package's main.js, which registers all of them), to
 * keep out/webview.js small. Importing a module defines its element; registerComponents checks they are.
 *
 * CSP: lit styles its shadow roots with constructable stylesheets (adoptedStyleSheets), and the elements
 * set their few computed styles (the dropdown's position) through CSSOM, not style attributes, so they
 * work under the panel's strict CSP without 'unsafe-inline' styles (the browser test checks for violations).
 */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-divider/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';

const TAGS = ['vscode-badge', 'vscode-button', 'vscode-checkbox', 'vscode-divider', 'vscode-option', 'vscode-progress-ring', 'vscode-single-select'];

let registered = false;

/**
 * Makes sure the elements we use are defined (importing their modules defines them); idempotent. Call once
 * before creating any component.
 */
export function registerComponents(): void {
  if (registered) return;
  const missing = TAGS.filter((tag) => !customElements.get(tag));
  if (missing.length) throw new Error(`components: ${missing.join(', ')} not defined`);
  registered = true;
}

export interface ButtonHandle {
  readonly element: HTMLElement;
  onClick(listener: () => void): void;
  setDisabled(disabled: boolean): void;
}

/**
 * primary (the default) and secondary are vscode-button's two styles. 'icon' is a compact button for a glyph
 * label such as ✕: vscode-button's icon-only layout, made transparent like VS Code's toolbar actions by the
 * vscode-button[icon-only]::part(base) rules in media/webview.css (the element has no such style itself).
 */
export function createButton(label: string, opts: { appearance?: 'primary' | 'secondary' | 'icon'; title?: string } = {}): ButtonHandle {
  const element = document.createElement('vscode-button');
  element.textContent = label;
  if (opts.appearance === 'secondary') element.secondary = true;
  if (opts.appearance === 'icon') element.iconOnly = true;
  if (opts.title) {
    element.title = opts.title;
    element.setAttribute('aria-label', opts.title);
  }
  return {
    element,
    // A disabled vscode-button takes no pointer events and ignores keys; this also covers element.click().
    onClick: (listener) =>
      element.addEventListener('click', () => {
        if (!element.disabled) listener();
      }),
    setDisabled: (disabled) => (element.disabled = disabled),
  };
}

export interface DropdownOption {
  value: string;
  label: string;
}

export interface DropdownHandle {
  readonly element: HTMLElement;
  /** Replaces the options and selects `selected` (or the first option). Fires no change listener. */
  setOptions(options: readonly DropdownOption[], selected?: string): void;
  readonly value: string;
  /** Selects an option without firing change listeners (used when the host pushes settings). */
  setValue(value: string): void;
  /** Fires only for user changes. */
  onChange(listener: (value: string) => void): void;
}

export function createDropdown(ariaLabel: string): DropdownHandle {
  const element = document.createElement('vscode-single-select');
  // `label` names the element's inner combobox and listbox (its shadow root), which is what takes focus.
  element.label = ariaLabel;
  const listeners: ((value: string) => void)[] = [];
  let current = '';
  // The element re-reads its options' `selected` attributes whenever an option changes (and when options are
  // slotted, which is async), so the attributes always mark the current value, including after a user change.
  const markSelected = (value: string): void => {
    for (const option of Array.from(element.children)) {
      option.toggleAttribute('selected', option.getAttribute('value') === value);
    }
  };
  const setValue = (value: string): void => {
    current = value;
    markSelected(value);
    // The property covers options the element has already read; for ones it has not, it keeps the value until
    // they arrive. Neither dispatches 'change': the element fires it only for a choice made in its list.
    element.value = value;
  };
  element.addEventListener('change', () => {
    const value = element.value;
    if (value === current) return;
    current = value;
    markSelected(value);
    for (const listener of listeners) listener(value);
  });
  return {
    element,
    setOptions(options, selected) {
      element.replaceChildren(
        ...options.map((o) => {
          const option = document.createElement('vscode-option');
          option.setAttribute('value', o.value);
          option.textContent = o.label;
          return option;
        }),
      );
      setValue(selected ?? options[0]?.value ?? '');
    },
    get value() {
      return element.value || current;
    },
    setValue,
    onChange(listener) {
      listeners.push(listener);
    },
  };
}

export interface CheckboxHandle {
  readonly element: HTMLElement;
  readonly checked: boolean;
  /** Sets the state without firing change listeners. */
  setChecked(checked: boolean): void;
  /** Fires only for user changes. */
  onChange(listener: (checked: boolean) => void): void;
}

export function createCheckbox(label: string): CheckboxHandle {
  const element = document.createElement('vscode-checkbox');
  // Slotted text is the label (and, through the element, its aria-label).
  element.textContent = label;
  return {
    element,
    get checked() {
      return element.checked;
    },
    // vscode-checkbox dispatches 'change' only when the user toggles it, never for a property set.
    setChecked(checked) {
      element.checked = checked;
    },
    onChange(listener) {
      element.addEventListener('change', () => listener(element.checked));
    },
  };
}

export interface ProgressHandle {
  readonly element: HTMLElement;
  /** Shows the indicator with a text such as "1200 / 8192 tokens", or hides it. */
  set(visible: boolean, text?: string): void;
}

export function createProgress(ariaLabel: string): ProgressHandle {
  const element = document.createElement('span');
  element.className = 'progress';
  element.setAttribute('role', 'status');
  const ring = document.createElement('vscode-progress-ring');
  // The ring defaults to role=alert, aria-live=assertive; the status around it is the live region here.
  ring.setAttribute('role', 'progressbar');
  ring.setAttribute('aria-live', 'off');
  ring.setAttribute('aria-label', ariaLabel);
  const label = document.createElement('span');
  label.className = 'progress-text';
  element.append(ring, label);
  return {
    element,
    set(visible, text = '') {
      element.hidden = !visible;
      label.textContent = text;
    },
  };
}

export function createDivider(): HTMLElement {
  const element = document.createElement('vscode-divider');
  element.setAttribute('role', 'separator');
  return element;
}

export interface BadgeHandle {
  readonly element: HTMLElement;
  setText(text: string): void;
}

export function createBadge(text = ''): BadgeHandle {
  const element = document.createElement('vscode-badge');
  element.textContent = text;
  return { element, setText: (t) => (element.textContent = t) };
}
