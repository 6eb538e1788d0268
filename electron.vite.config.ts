import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // One bundle loads faster and smaller than node_modules resolved at run time (the engine's
      // resident memory is a benchmark); only Electron itself stays external.
      externalizeDeps: false,
      rollupOptions: {
        input: {
          main: resolve(__dirname, 'electron/main.ts'),
          cli: resolve(__dirname, 'electron/cli/main.ts'),
        },
        output: {
          format: 'es',
          entryFileNames: '[name].js',
          banner: (chunk) => (chunk.name === 'cli' ? '#!/usr/bin/env node' : ''),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'preload/index.ts') },
        // A sandboxed preload cannot be an ES module.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'renderer'),
    plugins: [react()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      target: 'es2022',
      minify: true,
      rollupOptions: {
        input: resolve(__dirname, 'renderer/index.html'),
        output: {
          // zod in a chunk of its own, so that lib/zod-config can set `jitless` before any chunk
          // builds a schema: in one chunk with the contract, the schemas would be built (and zod
          // would probe for eval, which the page's CSP refuses and logs) before the setting.
          manualChunks: (id: string) =>
            /[\\/]node_modules[\\/]zod[\\/]/.test(id) ? 'zod' : undefined,
        },
      },
    },
  },
});
