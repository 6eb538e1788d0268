// ESLint flat config. Besides the usual checks it enforces the layers described in
// ARCHITECTURE.md (the second enforcement is one tsconfig per layer):
//   common/**           every process: no Node, no DOM, no electron, nothing from another layer
//   electron/engine/**  plain Node: no electron, no React, nothing from renderer/; only api/
//                       (the composition root) imports api/
//   renderer/**         browser only: no electron, no Node builtins, nothing from electron/;
//                       nothing from preload/; from common/contract only types (zod stays lazy)
//   electron/main*.ts, preload/**  the only files that may import electron
//   electron/main-ipc.ts           the only file that may touch ipcMain
// Import cycles (type-only imports included) are dependency-cruiser's: .dependency-cruiser.cjs.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const IPC_FILE = 'electron/main-ipc.ts';
const MAIN_FILES = ['electron/main.ts', 'electron/main-*.ts'];

const noElectron = {
  paths: [
    { name: 'electron', message: 'Only electron/main*.ts and preload/ may import electron.' },
  ],
  patterns: [
    { group: ['electron/*'], message: 'Only electron/main*.ts and preload/ may import electron.' },
  ],
};
const noIpcMain = {
  name: 'electron',
  importNames: ['ipcMain'],
  message: `Only ${IPC_FILE} may use ipcMain: it checks the sender before anything else.`,
};
const noReact = [
  {
    group: ['react', 'react/*', 'react-dom', 'react-dom/*'],
    message: 'React belongs to renderer/.',
  },
];
const noRenderer = [
  {
    group: ['**/renderer', '**/renderer/**'],
    message: 'Main-process code may not import renderer/.',
  },
];
const nodeBuiltins = [...new Set(builtinModules.filter((m) => !m.startsWith('_')))];

/** The engine's import rules, plus `extra` patterns. */
const engineRules = (extra) => ({
  paths: noElectron.paths,
  patterns: [
    ...noElectron.patterns,
    ...noReact,
    { group: ['**/renderer', '**/renderer/**'], message: 'The engine may not import renderer/.' },
    ...extra,
  ],
});

/** `@typescript-eslint/no-restricted-imports` with the given options (a later block replaces them). */
const restrict = (options) => ({ '@typescript-eslint/no-restricted-imports': ['error', options] });

export default defineConfig(
  globalIgnores([
    'out/',
    'dist/',
    'node_modules/',
    'tests/fixtures/.cache/',
    'tests/artifacts/',
    'electron/engine/host/accel-probe-image.ts',
  ]),

  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Root-level config files belong to no layer's tsconfig.
        projectService: { allowDefaultProject: ['*.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // A warning: defensive checks on parsed JSON and QMP replies are often "unnecessary" by type.
      '@typescript-eslint/no-unnecessary-condition': [
        'warn',
        { allowConstantLoopConditions: true },
      ],
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { attributes: false } },
      ],
      // Practical relaxations: these flag idiomatic code more often than bugs.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-invalid-void-type': 'off',
      '@typescript-eslint/unified-signatures': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      'no-console': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },

  // Plain JS config files are not in any tsconfig.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], extends: [tseslint.configs.disableTypeChecked] },

  // ---- Layers. Each block replaces the rule's options for the files it matches; later wins.
  { files: ['**/*.{ts,tsx,js,mjs,cjs}'], rules: restrict(noElectron) },
  {
    files: ['electron/**/*.ts'],
    rules: restrict({
      ...noElectron,
      patterns: [...noElectron.patterns, ...noReact, ...noRenderer],
    }),
  },
  {
    files: [...MAIN_FILES, 'preload/**/*.ts'],
    ignores: [IPC_FILE],
    rules: {
      ...restrict({ paths: [noIpcMain], patterns: [...noReact, ...noRenderer] }),
      'no-restricted-properties': [
        'error',
        { property: 'ipcMain', message: `Only ${IPC_FILE} may use ipcMain.` },
      ],
    },
  },
  { files: [IPC_FILE], rules: restrict({ patterns: [...noReact, ...noRenderer] }) },
  { files: ['electron/engine/**/*.ts'], rules: restrict(engineRules([])) },
  {
    // api/ is the composition root: it builds the services and dispatches to them. A service
    // that imports it is reaching for the whole engine instead of what its constructor gets.
    files: ['electron/engine/**/*.ts'],
    ignores: ['electron/engine/api/**', 'electron/engine/index.ts'],
    rules: restrict(
      engineRules([
        {
          group: ['**/api', '**/api/**', '!**/common/**'],
          message:
            'Only electron/engine/api/ imports api/: take what you need in your constructor.',
        },
      ]),
    ),
  },
  {
    files: ['common/**/*.ts'],
    rules: restrict({
      paths: [
        ...noElectron.paths,
        ...nodeBuiltins.map((name) => ({
          name,
          message: 'common/ runs in every process, the browser included: no Node.',
        })),
      ],
      patterns: [
        ...noElectron.patterns,
        ...noReact,
        { group: ['node:*'], message: 'common/ runs in every process: no Node.' },
        {
          group: ['**/electron/**', '**/renderer/**', '**/preload/**'],
          message: 'common/ is imported by every layer and imports none of them.',
        },
      ],
    }),
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    extends: [reactHooks.configs.flat['recommended-latest']],
    rules: restrict({
      paths: [
        ...noElectron.paths,
        ...nodeBuiltins.map((name) => ({
          name,
          message: 'The renderer runs in a browser: no Node.',
        })),
      ],
      patterns: [
        ...noElectron.patterns,
        { group: ['node:*'], message: 'The renderer runs in a browser: no Node.' },
        {
          group: ['**/electron/**', '../**/electron'],
          message: 'The renderer talks to the engine through the contract, never by import.',
        },
        {
          group: ['**/preload', '**/preload/**'],
          message: 'The renderer reaches the preload through window.vivarium, never by import.',
        },
        {
          group: [
            '**/common/contract',
            '**/common/contract/**',
            '**/common/transport/rpc',
            '**/common/transport/rpc.ts',
          ],
          allowTypeImports: true,
          message: 'The renderer imports only types from the contract (import type { ... }).',
        },
      ],
    }),
  },
);
