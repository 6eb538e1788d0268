// Import rules ESLint cannot see across files: no cycles anywhere in the app's layers, type-only
// imports included (a type cycle still ties two modules' designs together). Run by `npm run lint`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'Modules import each other in a circle: move the shared part down a layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'common-stays-common',
      severity: 'error',
      comment: 'common/ is imported by every process and imports none of them.',
      from: { path: '^common/' },
      to: { path: '^(electron|renderer|preload)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(out|dist|node_modules)/' },
    // Keep `import type` edges: TypeScript erases them, the design does not.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
