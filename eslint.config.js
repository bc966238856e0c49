// Lint rules carry the architecture: edges reach the platform only through the governance gateway (an
// allow-list, eslint-rules/edge-imports.js), analyzers stay pure, and only src/config reads the environment.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { edgeImportsRule } from './eslint-rules/edge-imports.js';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      '**/node_modules/**',
      'coverage/**',
      'test-output/**',
      '.opspilot/**',
      'web/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config only.' },
      ],
    },
  },
  {
    // The governance boundary: edges import the gateway and shared contracts, nothing else (an allow-list).
    files: ['src/api/**', 'src/cli/**', 'src/mcp/**', 'src/agents/**', 'src/demo/**'],
    plugins: { opspilot: { rules: { 'edge-imports': edgeImportsRule } } },
    rules: { 'opspilot/edge-imports': 'error' },
  },
  {
    files: ['src/analysis/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:*',
                'fs',
                'net',
                'http',
                'https',
                'child_process',
                '**/state/**',
                '**/runtime/**',
              ],
              message: 'Analyzers are pure: no I/O.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/config/**', 'test/**', 'bench/**', 'scripts/**', 'demo/**', '**/*.test.ts', '*.config.*'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // The dashboard runs in the browser.
    files: ['web/src/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  prettier,
);
