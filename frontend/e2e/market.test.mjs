// The marketplace end to end in Chromium against `make up` (fresh chain and database on free
// ports): a seller lists through a server proving job (the server is killed mid-job and the
// progress bar still finishes); a buyer with an injected EIP-6963 wallet on the wrong network
// switches, cancels a signature, buys; the seller delivers through a job; the buyer decrypts in
// the browser and reads the hidden text prompt, whose committed completion is the listed one;
// a late order is refunded after Anvil time travel and the refund withdrawn.
//
//   cd frontend && npm run e2e        (needs Debian's chromium, or CHROMIUM=/path)
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { installTestWallet } from "./wallet.js";
import { launch, startStack, step } from "./stack.mjs";

const SELLER_INDEX = 1; // Bob, through the dev-account selector (signs in the page)
const BUYER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"; // Dave, through the injected wallet
// A text prompt (the default listing kind): 24 characters of the model's vocabulary.
const PROMPT = "for i in range(len(data)";
const T = 120_000;

let stack, browser, seller, buyer;
const tmp = mkdtempSync(join(tmpdir(), "trustml-e2e-files-"));
const secretPath = join(tmp, "listing-secret.json");
let listingId;

before(async () => {
  stack = await startStack();
  browser = await launch();
  seller = await (await browser.newContext({ acceptDownloads: true })).newPage();
  const ctx = await browser.newContext();
  await ctx.addInitScript(installTestWallet, { rpcUrl: stack.rpcUrl, account: BUYER, chainId: 1, realChainId: 31337 });
  buyer = await ctx.newPage();
});

after(async () => {
  await browser?.close();
  stack?.stop();
});

test("browse shows the seeded listings, their marks and the index status", async () => {
  const page = seller;
  await step(page, "browse", async () => {
    await page.goto(stack.url);
    await page.locator("[data-listing]").nth(2).waitFor();
    assert.equal(await page.locator("[data-listing]").count(), 3);
    assert.equal(await page.locator("[data-listing] .badge.verified").count(), 3);
    assert.equal(await page.locator("[data-listing] .badge.matches").count(), 3);
    // Two text listings show their proven completions, the image listing its picture.
    await page.locator("[data-listing] [data-testid=completion]").nth(1).waitFor();
    assert.equal(await page.locator("[data-listing] [data-testid=completion]").count(), 2);
    await page.fill("input[type=search]", "seven");
    await page.waitForFunction(() => document.querySelectorAll("[data-listing]").length === 1);
    await page.getByTestId("indexer-status").filter({ hasText: "synced to block" }).waitFor();
  });
});

test("a seller lists through a server job that survives a server crash", async () => {
  const page = seller;
  await step(page, "sell", async () => {
    await page.goto(`${stack.url}/sell`);
    await page.getByTestId("connect").click();
    await page.getByTestId(`dev-${SELLER_INDEX}`).click();
    await page.getByTestId("dev-banner").waitFor();
    await page.getByTestId("mode-server").click();
    await page.getByTestId("prompt-input").fill(PROMPT);
    const download = page.waitForEvent("download", { timeout: T });
    await page.getByTestId("prove").click();
    // The job runs: kill the server (kill -9) and bring it back while the bar is moving.
    await page.getByTestId("job-progress").filter({ hasText: "test delay" }).waitFor({ timeout: T });
    stack.crashServer();
    stack.restartServer();
    await (await download).saveAs(secretPath);
    assert.ok(JSON.parse(readFileSync(secretPath, "utf8")), "the listing secret was saved");
    await page.getByTestId("proof-loaded").waitFor();
    await page.getByTestId("title").fill("A secret squiggle");
    await page.getByTestId("description").fill("A loop header; the model finishes it.");
    await page.getByTestId("price").fill("0.03");
    await page.getByTestId("list-button").click();
    await page.waitForURL(/\/listing\/\d+$/, { timeout: T });
    listingId = Number(page.url().split("/").pop());
    await page.getByTestId("output-matches").filter({ hasText: "yes" }).waitFor();
    await page.getByTestId("completion").waitFor();
    await page.getByTestId("proof-panel").filter({ hasText: "decoding greedily" }).waitFor();
    await page.locator(".badge.verified").waitFor();
  });
  assert.equal(listingId, 4);
});

test("a buyer on the wrong network switches, cancels a signature quietly, then buys", async () => {
  const page = buyer;
  await step(page, "buy", async () => {
    await page.goto(`${stack.url}/listing/${listingId}`);
    await page.getByTestId("connect").click();
    await page.getByTestId("wallet-Test Wallet").click();
    await page.getByTestId("switch-chain").filter({ hasText: "Wrong network (1)" }).waitFor();
    await page.getByTestId("switch-chain").click();
    await page.locator(".pill.ok", { hasText: "chain 31337" }).waitFor();
    // The key signature is rejected: a quiet "cancelled", back at the review step.
    await page.evaluate(() => (window.__testWallet.rejectNext = 1));
    await page.getByTestId("buy-button").click();
    await page.getByText("Cancelled in the wallet.").waitFor();
    await page.locator(".stepper li.current", { hasText: "Review" }).waitFor();
    await page.getByTestId("buy-button").click();
    await page.getByTestId("waiting").filter({ hasText: "left" }).waitFor({ timeout: T });
  });
  const orders = await stack.api(`/orders?buyer=${BUYER}`);
  assert.deepEqual(
    orders.items.map((o) => [o.id, o.listingId, o.status]),
    [[2, listingId, "paid"]],
  );
});

test("the seller delivers through a job; the buyer decrypts the text prompt and its listed completion", async () => {
  await step(seller, "deliver", async () => {
    await seller.goto(`${stack.url}/dashboard`);
    await seller.locator("[data-order='2']").waitFor();
    await seller.getByTestId("secret-2").setInputFiles(secretPath);
    await seller.getByTestId("deliver-2").click();
    await seller.getByTestId("notice").filter({ hasText: "Order #2 delivered" }).waitFor({ timeout: T });
  });
  await step(buyer, "decrypt", async () => {
    // The buy stepper follows the server's event stream to "delivered".
    await buyer.getByTestId("delivered").waitFor({ timeout: T });
    await buyer.goto(`${stack.url}/library`);
    await buyer.getByTestId("decrypt-2").click();
    await buyer.getByTestId("prompt").waitFor({ timeout: T });
    assert.equal(await buyer.getByTestId("prompt").textContent(), PROMPT);
    await buyer.getByTestId("reproduces").filter({ hasText: "Its completion is the listed one" }).waitFor();
  });
  const o = await stack.api("/orders/2");
  assert.equal(o.status, "delivered");
});

test("an undelivered order is refunded after the deadline (Anvil time travel) and withdrawn", async () => {
  const page = buyer;
  await step(page, "refund", async () => {
    await page.goto(`${stack.url}/listing/2`);
    await page.getByTestId("buy-button").click();
    await page.getByTestId("waiting").waitFor({ timeout: T });
    await stack.rpc("evm_increaseTime", [2 * 86_400]);
    await stack.rpc("evm_mine");
    await page.goto(`${stack.url}/library`);
    await page.getByTestId("refund-3").click();
    await page.locator("[data-order='3'] [data-testid=order-status]", { hasText: "refunded" }).waitFor({ timeout: T });
    await page.getByTestId("withdrawable").filter({ hasText: "0.02 ETH" }).waitFor({ timeout: T });
    await page.getByTestId("withdraw").click();
    await page.getByTestId("withdrawable").filter({ hasText: "Withdrawable: 0 ETH" }).waitFor({ timeout: T });
  });
});
