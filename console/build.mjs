// Bundles src/ into dist/ with esbuild: one JS file (Preact + Chart.js, minified, with a source map),
// the stylesheet and index.html. `--watch` rebuilds on change (the local stack serves dist/ as it is).
import { cp, mkdir, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL(".", import.meta.url));
const watch = process.argv.includes("--watch");

await rm(`${root}dist`, { recursive: true, force: true });
await mkdir(`${root}dist`, { recursive: true });
await cp(`${root}src/index.html`, `${root}dist/index.html`);

const options = {
  entryPoints: [`${root}src/main.jsx`, `${root}src/styles.css`],
  outdir: `${root}dist`,
  bundle: true,
  minify: !watch,
  sourcemap: true,
  format: "esm",
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "linked",
  logLevel: "info",
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log("watching console/src for changes (Ctrl-C stops)");
} else {
  await esbuild.build(options);
}
