import { defineConfig } from 'vite';

// Where `npx vite` (the dev server) forwards Socket.IO and the dev login:
// the Go server (make run) or the Node reference server.
const backend = process.env.VITE_DEV_BACKEND || 'http://127.0.0.1:3000';

export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Reproducible output: content-hashed names only, no build timestamps.
    assetsInlineLimit: 0
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/socket.io': { target: backend, ws: true, changeOrigin: true },
      '/dev': { target: backend, changeOrigin: true },
      '/health': { target: backend, changeOrigin: true }
    }
  }
});
