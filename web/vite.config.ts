import { defineConfig } from "vite";

// The bundle is committed (web/dist) and embedded in the service's binary, so that
// `cargo run --release` needs no Node: keep it small and reproducible.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    reportCompressedSize: true,
  },
});
