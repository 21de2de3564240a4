// Layering is a checked fact here (see shared/STYLE.md, VS Code): the engine never imports
// Electron or the UI, the renderer never imports Node or Electron, services/ stands alone
// (imports nothing from src/), and the app uses each service only through its index.ts.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'

/** The app reaches a service (services/<name>) only through its public surface, src/index.ts. */
const serviceThroughIndex = {
  regex: String.raw`(^|/)services/[^/]+/src/(?!index$)`,
  message: 'Use the service through its public surface, services/<name>/src/index.ts.',
}

const engineLayers = [
  { group: ['electron', 'electron/*'], message: 'The engine never imports Electron.' },
  {
    group: ['react', 'react-dom', 'react/*', 'react-dom/*'],
    message: 'The engine never imports React.',
  },
  {
    group: ['**/renderer/**', '**/main/**', '**/preload/**'],
    message: 'Lower layers never import higher ones.',
  },
]

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
    files: ['src/core/**', 'src/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...engineLayers, serviceThroughIndex] }],
    },
  },
  {
    files: ['services/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...engineLayers,
            {
              regex: String.raw`^(\.\./)+src/`,
              message:
                'services/ stands alone (its own process and container): import nothing from src/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/main/**', 'src/preload/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [serviceThroughIndex] }],
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
            {
              // A service's zod schemas (`*-schema.ts`) are the part of it the renderer can load.
              regex: String.raw`(^|/)services/[^/]+/src/(?![a-z0-9-]+-schema$)`,
              message:
                'src/shared may use only a service’s zod schemas (services/<name>/src/*-schema.ts).',
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
