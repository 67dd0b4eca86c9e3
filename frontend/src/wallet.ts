// Wallets: injected ones discovered through EIP-6963 (mipd), with `window.ethereum` as the
// fallback, and — only when the server says so (dev mode on chain 31337) — Anvil's well-known
// dev accounts, signed in the page under a visible banner. The rest of the app sees one
// WalletClient and the account; account and chain changes update the state.
import { createStore, type EIP6963ProviderDetail } from "mipd";
import { createWalletClient, custom, http, type Address, type EIP1193Provider, type WalletClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import type { Config } from "./api";
import { chainOf, explain } from "./chain";
import { Store } from "./store";

/** Anvil's default mnemonic: its keys are public, for local development only. */
const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
/** Names for the first dev accounts, by the role the demo gives them. */
export const DEV_ROLES = ["Alice (seller)", "Bob (seller)", "Carol (buyer)", "Dave (buyer)", "Erin (buyer)"];

export interface WalletOption {
  id: string;
  /** The wallet's reverse-DNS id (EIP-6963), remembered to reconnect after a reload. */
  rdns: string;
  name: string;
  icon?: string;
  provider: EIP1193Provider;
}

export interface WalletState {
  status: "disconnected" | "connecting" | "connected";
  kind?: "injected" | "dev";
  name?: string;
  account?: Address;
  chainId?: number;
  client?: WalletClient;
  /** Quiet notice: "cancelled" or what went wrong. */
  notice?: string;
}

export const wallet = new Store<WalletState>({ status: "disconnected" });
export const walletOptions = new Store<WalletOption[]>([]);

let mipd: ReturnType<typeof createStore> | null = null;

/** Starts listening for EIP-6963 announcements (and falls back to `window.ethereum`). */
export function discover() {
  if (mipd) return;
  mipd = createStore();
  const update = (details: readonly EIP6963ProviderDetail[]) => {
    const found: WalletOption[] = details.map((d) => ({
      id: d.info.uuid,
      rdns: d.info.rdns,
      name: d.info.name,
      icon: d.info.icon,
      provider: d.provider as unknown as EIP1193Provider,
    }));
    const legacy = (window as { ethereum?: EIP1193Provider }).ethereum;
    if (!found.length && legacy) found.push({ id: "window.ethereum", rdns: "window.ethereum", name: "Browser wallet", provider: legacy });
    walletOptions.set(found);
  };
  update(mipd.getProviders());
  mipd.subscribe(update);
}

let detach: (() => void) | null = null;

/** Which wallet this tab chose, to reconnect to it after a reload (never a key). */
const REMEMBER = "trustml.wallet";

/**
 * Connects an injected wallet: asks for its accounts (or, `silent`, takes the ones it already
 * granted this site), follows its account and chain.
 */
export async function connect(opt: WalletOption, silent = false) {
  detach?.();
  wallet.set({ status: "connecting", kind: "injected", name: opt.name });
  try {
    const client = createWalletClient({ transport: custom(opt.provider) });
    const [account] = silent ? await client.getAddresses() : await client.requestAddresses();
    if (!account) return wallet.set({ status: "disconnected" });
    sessionStorage.setItem(REMEMBER, JSON.stringify({ kind: "injected", rdns: opt.rdns }));
    const chainId = await client.getChainId();
    wallet.set({ status: "connected", kind: "injected", name: opt.name, account, chainId, client });
    const onAccounts = (accs: Address[]) =>
      accs.length ? wallet.update((w) => ({ ...w, account: accs[0] })) : wallet.set({ status: "disconnected" });
    const onChain = (id: string) => wallet.update((w) => ({ ...w, chainId: Number(id) }));
    opt.provider.on?.("accountsChanged", onAccounts as never);
    opt.provider.on?.("chainChanged", onChain as never);
    detach = () => {
      opt.provider.removeListener?.("accountsChanged", onAccounts as never);
      opt.provider.removeListener?.("chainChanged", onChain as never);
    };
  } catch (e) {
    // A cancelled request reads "cancelled": the header shows it quietly.
    wallet.set({ status: "disconnected", notice: explain(e).message });
  }
}

/** Signs with Anvil dev account `index` in the page (dev mode only). */
export function connectDev(c: Config, index: number) {
  if (!c.devAccounts) throw new Error("dev accounts are offered only by a server in --dev mode on chain 31337");
  detach?.();
  const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index });
  const client = createWalletClient({ account, chain: chainOf(c), transport: http(c.rpcUrl) });
  sessionStorage.setItem(REMEMBER, JSON.stringify({ kind: "dev", index }));
  wallet.set({ status: "connected", kind: "dev", name: DEV_ROLES[index] ?? `dev #${index}`, account: account.address, chainId: c.chainId, client });
}

export const devAddress = (index: number) => mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index }).address;

export function disconnect() {
  detach?.();
  detach = null;
  sessionStorage.removeItem(REMEMBER);
  wallet.set({ status: "disconnected" });
}

/** Asks the wallet to switch to the server's chain, adding it first if the wallet lacks it. */
export async function switchToChain(c: Config) {
  const w = wallet.get();
  if (!w.client) return;
  try {
    await w.client.switchChain({ id: c.chainId });
  } catch (e) {
    const code = (e as { code?: number; cause?: { code?: number } }).code ?? (e as { cause?: { code?: number } }).cause?.code;
    if (code === 4902) {
      try {
        await w.client.addChain({ chain: chainOf(c) });
        await w.client.switchChain({ id: c.chainId });
      } catch (e2) {
        wallet.update((s) => ({ ...s, notice: explain(e2).message }));
        return;
      }
    } else {
      wallet.update((s) => ({ ...s, notice: explain(e).message }));
      return;
    }
  }
  const id = await w.client.getChainId();
  wallet.update((s) => ({ ...s, chainId: id, notice: undefined }));
}

/** The connected account and client on the right chain, or why not. */
export function ready(c: Config): { account: Address; client: WalletClient } | string {
  const w = wallet.get();
  if (w.status !== "connected" || !w.account || !w.client) return "connect a wallet first";
  if (w.chainId !== c.chainId) return `your wallet is on chain ${w.chainId}; switch to chain ${c.chainId}`;
  return { account: w.account, client: w.client };
}

/** Signs a text message with the connected account. */
export async function signText(message: string): Promise<`0x${string}`> {
  const w = wallet.get();
  if (!w.client || !w.account) throw new Error("connect a wallet first");
  return w.client.signMessage({ account: w.client.account ?? w.account, message });
}


/** Reconnects the wallet this tab used before a reload, without a prompt. */
export function reconnect(c: Config) {
  const saved = JSON.parse(sessionStorage.getItem(REMEMBER) ?? "null");
  if (!saved) return;
  if (saved.kind === "dev" && c.devAccounts) return connectDev(c, saved.index);
  if (saved.kind !== "injected") return;
  discover();
  const tryNow = (opts: WalletOption[]) => {
    const o = opts.find((x) => x.rdns === saved.rdns);
    if (o && wallet.get().status === "disconnected") {
      stop();
      connect(o, true);
    }
  };
  const stop = walletOptions.subscribe(tryNow);
  tryNow(walletOptions.get());
}
