// Bundles main.js, Vue and ODK Web Forms into one ES module for sync_server/static/vendor/webforms.
// Run with `tools/webforms/build.sh`; the output is committed, so serving and testing never
// need Node.
import { build } from "esbuild";

await build({
  entryPoints: ["main.js"],
  bundle: true,
  format: "esm",
  splitting: true,
  minify: true,
  legalComments: "linked",
  target: ["es2022"],
  outdir: "../../sync_server/static/vendor/webforms",
  entryNames: "webforms",
  chunkNames: "webforms-[name]-[hash]",
  define: {
    __VUE_OPTIONS_API__: "true",
    __VUE_PROD_DEVTOOLS__: "false",
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "false",
    "process.env.NODE_ENV": '"production"',
  },
  logLevel: "warning",
});
