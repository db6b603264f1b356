// The browser app: `npm run build:web` writes web/dist, which the service serves at `/`
// (WEB_APP_DIR). `npx vite web` serves it with reload while you work, proxying the API.
import { defineConfig } from 'vite';

const api = process.env.BOXOFFICE_API ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: import.meta.dirname,
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: { proxy: { '/v1': api, '/healthz': api, '/readyz': api } },
});
