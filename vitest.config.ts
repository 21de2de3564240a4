import { defineConfig } from 'vitest/config'
import react from '@vitejs/plugin-react'

// Every suite that spawns processes fails a test file that leaves one running
// (tests/setup/no-leftover-processes.ts).
const noLeftovers = './tests/setup/no-leftover-processes.ts'

// Four suites, run in this order by scripts/test.mjs:
//   unit         fast, no Docker, no browser (beside the code as *.test.ts)
//   renderer     React components in jsdom
//   integration  real Docker Engine, real processes, simulators from tests/simulators
//   e2e          Playwright driving Debian's Chromium against `serve`
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'services/**/*.test.ts',
            'tests/unit/**/*.test.ts',
            'tests/simulators/**/*.test.ts',
          ],
          environment: 'node',
          testTimeout: 20_000,
          setupFiles: [noLeftovers],
          // Inlined so a test can stand in for Electron's API under electron-store.
          server: { deps: { inline: ['electron-store'] } },
        },
      },
      {
        plugins: [react()],
        test: {
          name: 'renderer',
          include: ['src/renderer/**/*.test.tsx'],
          environment: 'jsdom',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 300_000,
          setupFiles: [noLeftovers],
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          // One Chromium for every e2e file (each connects to it).
          globalSetup: ['./tests/e2e/chromium-server.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          setupFiles: [noLeftovers],
          fileParallelism: false,
        },
      },
    ],
  },
})
