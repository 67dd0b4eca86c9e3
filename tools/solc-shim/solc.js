#!/usr/bin/env node
// A `solc` command-line stand-in backed by solcjs (the `solc` npm package pinned in the
// repo's package.json), so that forge and verifier-gen compile Solidity without
// downloading a native compiler. It understands exactly what they use:
//   solc --version                       → the native solc banner forge parses
//   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths ...]
//                                        → reads Standard JSON from stdin, prints ONLY the output JSON
"use strict";
const fs = require("fs");
const path = require("path");

// Anything solcjs or emscripten prints must not pollute stdout (forge parses it as JSON).
const realWrite = process.stdout.write.bind(process.stdout);
console.log = (...a) => process.stderr.write(a.join(" ") + "\n");
console.info = console.log;

function loadSolc() {
  // Resolve from the repo root first (node_modules next to package.json), then normally.
  const candidates = [path.join(__dirname, "..", "..", "node_modules", "solc"), "solc"];
  for (const c of candidates) {
    try {
      return require(c);
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND") throw e;
    }
  }
  process.stderr.write("solc shim: the `solc` npm package is missing; run `npm ci` at the repository root\n");
  process.exit(1);
}

function nativeVersion(solc) {
  // "0.8.19+commit.7dd6d404.Emscripten.clang" → "0.8.19+commit.7dd6d404.Linux.g++"
  const v = solc.version();
  const m = /^(\d+\.\d+\.\d+)\+commit\.([0-9a-f]+)/.exec(v);
  return m ? `${m[1]}+commit.${m[2]}.Linux.g++` : v;
}

function main(argv) {
  if (argv.includes("--version") || argv.includes("-v")) {
    const solc = loadSolc();
    realWrite(`solc, the solidity compiler commandline interface\nVersion: ${nativeVersion(solc)}\n`);
    return 0;
  }
  if (!argv.includes("--standard-json")) {
    process.stderr.write("solc shim: only --version and --standard-json are supported\n");
    return 1;
  }
  const roots = [process.cwd()];
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === "--base-path" || argv[i] === "--include-path") && argv[i + 1]) roots.push(path.resolve(argv[++i]));
    else if (argv[i].startsWith("--base-path=") || argv[i].startsWith("--include-path=")) roots.push(path.resolve(argv[i].split("=")[1]));
  }
  const findImports = (p) => {
    const tries = path.isAbsolute(p) ? [p] : roots.map((r) => path.join(r, p));
    for (const t of tries) {
      try {
        return { contents: fs.readFileSync(t, "utf8") };
      } catch (_) {
        /* next root */
      }
    }
    return { error: `File not found: ${p} (searched ${roots.join(", ")})` };
  };
  const input = fs.readFileSync(0, "utf8");
  const solc = loadSolc();
  const output = solc.compile(input, { import: findImports });
  realWrite(output + "\n");
  return 0;
}

process.exitCode = main(process.argv.slice(2));
