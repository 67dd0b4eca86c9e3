// The local stack for end-to-end tests: `anvil-scripts/up.sh` on free ports with a fresh state
// directory (chain, database, served models), stopped by pid afterwards; Chromium driven by
// playwright-core, with screenshots kept when a step fails.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SHOTS = process.env.TRUSTML_E2E_SHOTS ?? join(ROOT, "frontend", "e2e", "failures");

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

export async function startStack() {
  const state = mkdtempSync(join(tmpdir(), "trustml-e2e-"));
  const env = {
    ...process.env,
    TRUSTML_LOCAL: state,
    ANVIL_PORT: String(await freePort()),
    SERVER_PORT: String(await freePort()),
    // Stretches every proving job by a stage, so a test can restart the server mid-job.
    TRUSTML_TEST_JOB_DELAY_MS: "2500",
  };
  const up = () => {
    const r = spawnSync("bash", [join(ROOT, "anvil-scripts/up.sh")], { env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`make up failed:\n${r.stdout}\n${r.stderr}`);
  };
  up();
  const url = `http://127.0.0.1:${env.SERVER_PORT}`;
  const rpcUrl = `http://127.0.0.1:${env.ANVIL_PORT}`;
  return {
    url,
    rpcUrl,
    state,
    /** kill -9 the server (as a crash would), then bring it back with up.sh. */
    crashServer() {
      const pid = Number(readFileSync(join(state, "server.pid"), "utf8"));
      process.kill(pid, "SIGKILL");
    },
    restartServer: up,
    async rpc(method, params = []) {
      const r = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      const j = await r.json();
      if (j.error) throw new Error(`${method}: ${j.error.message}`);
      return j.result;
    },
    async api(path) {
      const r = await fetch(`${url}/api/v1${path}`);
      return r.json();
    },
    stop() {
      try {
        execFileSync("bash", [join(ROOT, "anvil-scripts/down.sh")], { env, stdio: "ignore" });
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    },
  };
}

export function chromiumPath() {
  const p = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(p)) {
    throw new Error(`no Chromium at ${p}: install Debian's chromium (apt-get install chromium) or set CHROMIUM=/path/to/chrome`);
  }
  return p;
}

export const launch = () => chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--disable-quic", "--no-sandbox"] });

/** Runs `f`; on failure keeps a screenshot of `page` under SHOTS and rethrows. */
export async function step(page, name, f) {
  try {
    return await f();
  } catch (e) {
    mkdirSync(SHOTS, { recursive: true });
    const file = join(SHOTS, `${name.replace(/[^a-z0-9]+/gi, "-")}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    e.message += `\n(screenshot: ${file})`;
    throw e;
  }
}
