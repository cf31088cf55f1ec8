// `npm run lint`: ESLint with typescript-eslint's type-checked rules for the TypeScript (host, core, webview, tests)
// and the recommended rules for the build and test scripts (.mjs), then Prettier's check of the formatting.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.vscode-test/**', 'test-results/**', 'training/**', 'bench/results/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `void promise` marks a deliberately unawaited call (the codebase's convention)
      // node:test's describe/it return promises that the runner itself awaits
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: true,
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach'] }],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // onnxruntime-node is required lazily (so the tokenizer and maths run without the native addon)
      '@typescript-eslint/no-require-imports': 'off',
      // template literals of numbers are the norm in messages and SVG attributes
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      // handlers and test callbacks are async by contract (a Promise-returning type), whether or not they await
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // the component library is reached only through webview/components.ts's typed handles, so it can be swapped by
    // editing that one file (as @vscode/webview-ui-toolkit was for @vscode-elements/elements)
    files: ['**/*.ts'],
    ignores: ['webview/components.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@vscode-elements/elements', '@vscode-elements/elements/*', 'lit', 'lit/*', '@lit/*', '@vscode/webview-ui-toolkit'],
              message: 'Use the handles in webview/components.ts: it is the only module that imports the component library.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_' }] },
  },
);
