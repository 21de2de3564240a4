// Builds the three parts of the desktop app: main (Node, Electron), preload (sandboxed bridge),
// renderer (the React UI, also served by headless mode from out/renderer).
import { resolve } from 'node:path'
import { defineConfig, type RendererViteConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'
import type { Plugin } from 'vite'

const root = import.meta.dirname

/**
 * `electron-vite dev` only: the dev server injects an inline React Refresh preamble and talks
 * to its HMR socket, which the strict CSP in index.html forbids. Builds keep the strict policy.
 */
function devServerCsp(): Plugin {
  return {
    name: 'flashbox-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) =>
      html
        .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
        .replace("connect-src 'self'", "connect-src 'self' ws: http://localhost:*"),
  }
}

/** The renderer's Vite config; tests and the UI bench build it alone with `vite.build`. */
export const rendererConfig: RendererViteConfig = {
  root: resolve(root, 'src/renderer'),
  // Relative asset URLs: the same build loads from file:// (Electron) and from the server.
  base: './',
  plugins: [react(), devServerCsp()],
  build: {
    outDir: resolve(root, 'out/renderer'),
    emptyOutDir: true,
    target: 'es2023',
    minify: true,
    sourcemap: false,
    // No inline scripts, so the strict CSP (script-src 'self') holds.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
}

export default defineConfig({
  main: {
    // The mint's TEST-ONLY crash hook is off in the app (services/mint/src/fault-injection.ts).
    define: { FLASHBOX_FAULT_INJECTION: 'false' },
    build: {
      outDir: resolve(root, 'out/main'),
      rollupOptions: {
        input: {
          index: resolve(root, 'src/main/index.ts'),
          // The relay and the mint as their own utility processes (src/main/service-launcher.ts).
          'relay-service': resolve(root, 'services/relay/src/child.ts'),
          'mint-service': resolve(root, 'services/mint/src/child.ts'),
          // The thread that owns the PC/SC binding (src/core/boltcard/pcsc-reader.ts finds it).
          'pcsc-worker': resolve(root, 'src/core/boltcard/pcsc-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      rollupOptions: {
        input: { index: resolve(root, 'src/preload/index.ts') },
        // Sandboxed preloads cannot load ES modules: emit CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: rendererConfig,
})
