/**
 * Our thin component layer. This is the ONLY module that may import @vscode/webview-ui-toolkit.
 *
 * The toolkit was deprecated and its repository archived in January 2025. Everything else in the webview
 * talks to the small typed handles below (createButton, createDropdown, createCheckbox, createProgress,
 * createDivider, createBadge), never to toolkit elements or their properties, so the toolkit can later be
 * swapped for @vscode-elements/elements, or for plain HTML styled with --vscode-* variables, by editing this
 * file alone.
 *
 * The toolkit's FAST elements style themselves with constructable stylesheets (adoptedStyleSheets), so they
 * work under the panel's strict CSP without 'unsafe-inline' styles (the browser test checks for violations).
 */
import {
  provideVSCodeDesignSystem,
  vsCodeBadge,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDivider,
  vsCodeDropdown,
  vsCodeOption,
  vsCodeProgressRing,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Registers the toolkit elements we use; idempotent. Call once before creating any component. */
export function registerComponents(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(
    vsCodeButton(),
    vsCodeDropdown(),
    vsCodeOption(),
    vsCodeCheckbox(),
    vsCodeProgressRing(),
    vsCodeDivider(),
    vsCodeBadge(),
  );
}

/** The toolkit's form elements expose these at runtime; we read them through this narrow view only. */
interface ValueElement extends HTMLElement {
  value: string;
}
interface CheckedElement extends HTMLElement {
  checked: boolean;
}

export interface ButtonHandle {
  readonly element: HTMLElement;
  onClick(listener: () => void): void;
  setDisabled(disabled: boolean): void;
}

export function createButton(label: string, opts: { appearance?: 'primary' | 'secondary' | 'icon'; title?: string } = {}): ButtonHandle {
  const element = document.createElement('vscode-button');
  element.textContent = label;
  if (opts.appearance) element.setAttribute('appearance', opts.appearance);
  if (opts.title) {
    element.title = opts.title;
    element.setAttribute('aria-label', opts.title);
  }
  return {
    element,
    onClick: (listener) => element.addEventListener('click', () => listener()),
    setDisabled: (disabled) => element.toggleAttribute('disabled', disabled),
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
  const element = document.createElement('vscode-dropdown') as ValueElement;
  element.setAttribute('aria-label', ariaLabel);
  let silent = false;
  let current = '';
  const markSelected = (value: string): void => {
    for (const option of Array.from(element.children)) {
      option.toggleAttribute('selected', option.getAttribute('value') === value);
    }
  };
  const setValue = (value: string): void => {
    current = value;
    silent = true;
    try {
      // The selected attribute covers options the element has not processed yet (slotchange is async);
      // the property covers an element that already has.
      markSelected(value);
      element.value = value;
    } finally {
      silent = false;
    }
  };
  return {
    element,
    setOptions(options, selected) {
      silent = true;
      try {
        element.replaceChildren(
          ...options.map((o) => {
            const option = document.createElement('vscode-option');
            option.setAttribute('value', o.value);
            option.textContent = o.label;
            return option;
          }),
        );
      } finally {
        silent = false;
      }
      setValue(selected ?? options[0]?.value ?? '');
    },
    get value() {
      return element.value || current;
    },
    setValue,
    onChange(listener) {
      element.addEventListener('change', () => {
        if (silent || element.value === current) return;
        current = element.value;
        listener(current);
      });
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
  const element = document.createElement('vscode-checkbox') as CheckedElement;
  element.textContent = label;
  let silent = false;
  return {
    element,
    get checked() {
      return element.checked;
    },
    setChecked(checked) {
      if (element.checked === checked) return;
      silent = true; // FAST emits 'change' for programmatic changes too.
      try {
        element.checked = checked;
      } finally {
        silent = false;
      }
    },
    onChange(listener) {
      element.addEventListener('change', () => {
        if (!silent) listener(element.checked);
      });
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
