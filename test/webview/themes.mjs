// A subset of the --vscode-* variables VS Code defines for its default themes (Dark Modern, Light Modern,
// Dark High Contrast), applied the way VS Code's webview host does: CSSOM properties on <html> plus a
// body class. Enough for our stylesheet and the toolkit elements to look as they would in the editor.
const common = {
  'font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif',
  'font-size': '13px',
  'font-weight': 'normal',
  'editor-font-family': '"Droid Sans Mono", "monospace", monospace',
  'editor-font-size': '14px',
  'editor-font-weight': 'normal',
};

export const THEMES = {
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      ...common,
      foreground: '#cccccc', 'editor-background': '#1f1f1f', 'editor-foreground': '#cccccc',
      descriptionForeground: '#9d9d9d', disabledForeground: '#cccccc80', errorForeground: '#f85149',
      focusBorder: '#0078d4', 'panel-border': '#2b2b2b', contrastBorder: '', contrastActiveBorder: '',
      'charts-orange': '#d18616', 'charts-blue': '#3794ff', 'charts-green': '#89d185', 'editorCursor-foreground': '#aeafad',
      'button-background': '#0078d4', 'button-foreground': '#ffffff', 'button-hoverBackground': '#026ec1',
      'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc',
      'dropdown-background': '#313131', 'dropdown-foreground': '#cccccc', 'dropdown-border': '#3c3c3c',
      'dropdown-listBackground': '#1f1f1f',
      'checkbox-background': '#313131', 'checkbox-foreground': '#cccccc', 'checkbox-border': '#3c3c3c',
      'badge-background': '#616161', 'badge-foreground': '#f8f8f8',
      'list-hoverBackground': '#2a2d2e', 'list-activeSelectionBackground': '#04395e', 'list-activeSelectionForeground': '#ffffff',
      'inputValidation-infoBackground': '#063b49', 'inputValidation-infoBorder': '#007acc',
      'inputValidation-errorBackground': '#5a1d1d', 'inputValidation-errorBorder': '#be1100',
      'editorWarning-foreground': '#cca700', 'textCodeBlock-background': '#2b2b2b', 'editorWidget-background': '#202020',
      'progressBar-background': '#0078d4', 'toolbar-hoverBackground': '#5a5d5e50',
      'input-background': '#313131', 'input-foreground': '#cccccc',
    },
  },
  light: {
    bodyClass: 'vscode-light',
    vars: {
      ...common,
      foreground: '#3b3b3b', 'editor-background': '#ffffff', 'editor-foreground': '#3b3b3b',
      descriptionForeground: '#3b3b3b', disabledForeground: '#61616180', errorForeground: '#f85149',
      focusBorder: '#005fb8', 'panel-border': '#e5e5e5', contrastBorder: '', contrastActiveBorder: '',
      'charts-orange': '#d18616', 'charts-blue': '#1a85ff', 'charts-green': '#388a34', 'editorCursor-foreground': '#000000',
      'button-background': '#005fb8', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0258a8',
      'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b',
      'dropdown-background': '#ffffff', 'dropdown-foreground': '#3b3b3b', 'dropdown-border': '#cecece',
      'dropdown-listBackground': '#ffffff',
      'checkbox-background': '#f8f8f8', 'checkbox-foreground': '#3b3b3b', 'checkbox-border': '#cecece',
      'badge-background': '#cccccc', 'badge-foreground': '#3b3b3b',
      'list-hoverBackground': '#f2f2f2', 'list-activeSelectionBackground': '#e8e8e8', 'list-activeSelectionForeground': '#000000',
      'inputValidation-infoBackground': '#d6ecf2', 'inputValidation-infoBorder': '#007acc',
      'inputValidation-errorBackground': '#f2dede', 'inputValidation-errorBorder': '#be1100',
      'editorWarning-foreground': '#bf8803', 'textCodeBlock-background': '#f8f8f8', 'editorWidget-background': '#f8f8f8',
      'progressBar-background': '#005fb8', 'toolbar-hoverBackground': '#b8b8b850',
      'input-background': '#ffffff', 'input-foreground': '#3b3b3b',
    },
  },
  'high-contrast': {
    bodyClass: 'vscode-high-contrast',
    vars: {
      ...common,
      foreground: '#ffffff', 'editor-background': '#000000', 'editor-foreground': '#ffffff',
      descriptionForeground: '#ffffffb3', disabledForeground: '#a5a5a5', errorForeground: '#f48771',
      focusBorder: '#f38518', 'panel-border': '#6fc3df', contrastBorder: '#6fc3df', contrastActiveBorder: '#f38518',
      'charts-orange': '#d18616', 'charts-blue': '#3794ff', 'charts-green': '#89d185', 'editorCursor-foreground': '#ffffff',
      'button-background': '#000000', 'button-foreground': '#ffffff', 'button-border': '#6fc3df',
      'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff',
      'dropdown-background': '#000000', 'dropdown-foreground': '#ffffff', 'dropdown-border': '#6fc3df',
      'dropdown-listBackground': '#000000',
      'checkbox-background': '#000000', 'checkbox-foreground': '#ffffff', 'checkbox-border': '#6fc3df',
      'badge-background': '#000000', 'badge-foreground': '#ffffff',
      'list-hoverBackground': '#000000', 'list-activeSelectionBackground': '#000000', 'list-activeSelectionForeground': '#ffffff',
      'inputValidation-infoBackground': '#000000', 'inputValidation-infoBorder': '#6fc3df',
      'inputValidation-errorBackground': '#000000', 'inputValidation-errorBorder': '#6fc3df',
      'editorWarning-foreground': '#ffd370', 'textCodeBlock-background': '#000000', 'editorWidget-background': '#0c141f',
      'progressBar-background': '#6fc3df', 'toolbar-hoverBackground': '#000000',
      'input-background': '#000000', 'input-foreground': '#ffffff',
    },
  },
};

/** Runs in the page: sets the variables on <html> and the theme class on <body>, as VS Code does. */
export function applyThemeInPage({ bodyClass, vars }) {
  const root = document.documentElement;
  for (const [name, value] of Object.entries(vars)) {
    if (value) root.style.setProperty(`--vscode-${name}`, value);
    else root.style.removeProperty(`--vscode-${name}`);
  }
  document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
  document.body.classList.add(bodyClass);
}
