// `import abi from "…/Contract.json?abi"` takes only the ABI of a contract artifact (the
// artifacts the Rust chain client embeds), so the bytecode stays out of the bundle.
import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    {
      name: "abi-only",
      enforce: "pre",
      load(id) {
        if (!id.endsWith(".json?abi")) return null;
        const artifact = JSON.parse(readFileSync(id.slice(0, -"?abi".length), "utf8"));
        return `export default ${JSON.stringify(artifact.abi)};`;
      },
    },
  ],
  build: { chunkSizeWarningLimit: 600 },
  // Unit tests only; e2e/ runs in Chromium through `npm run e2e`.
  test: { include: ["src/**/*.test.ts"] },
});
