// Layering is a checked fact here (see shared/STYLE.md, VS Code): the engine never imports
// Electron or the UI, the renderer never imports Node or Electron.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'

const nodeBuiltins = [
  'fs',
  'path',
  'os',
  'child_process',
  'net',
  'http',
  'https',
  'crypto',
  'stream',
]

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'out/**', 'dist/**', '.test-results/**', 'test-artifacts/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/core/**', 'src/shared/**', 'src/cli/**', 'services/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron', 'electron/*'], message: 'The engine never imports Electron.' },
            {
              group: ['react', 'react-dom', 'react/*', 'react-dom/*'],
              message: 'The engine never imports React.',
            },
            {
              group: ['**/renderer/**', '**/main/**', '**/preload/**'],
              message: 'Lower layers never import higher ones.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/shared/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', ...nodeBuiltins],
              message: 'src/shared runs in the renderer too: no Node imports.',
            },
            {
              group: ['electron', 'react', '**/core/**', '**/renderer/**'],
              message: 'src/shared depends on nothing but zod.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', ...nodeBuiltins], message: 'The renderer never imports Node.' },
            {
              group: ['electron', 'electron/*'],
              message: 'The renderer talks to the engine through the API client only.',
            },
            {
              group: ['**/core/**', '**/main/**', '**/preload/**', '**/services/**'],
              message: 'The renderer imports only src/shared and its own modules.',
            },
          ],
        },
      ],
    },
  },
)
