// The browser app: `npm run build:web` writes web/dist, which the service serves at `/`
// (WEB_APP_DIR). `npx vite web` serves it with reload while you work, proxying the API.
import path from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { precompressDirectory } from '../src/http/plugins/web-app-precompress.ts';

const api = process.env.BOXOFFICE_API ?? 'http://127.0.0.1:3000';
const outDir = 'dist';

/** Brotli and gzip copies of the built files, which the service sends to browsers that take them. */
function precompress(): Plugin {
  return {
    name: 'boxoffice-precompress',
    apply: 'build',
    async closeBundle() {
      await precompressDirectory(path.join(import.meta.dirname, outDir));
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: { proxy: { '/v1': api, '/healthz': api, '/readyz': api } },
  plugins: [precompress()],
});
