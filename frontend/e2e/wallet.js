// An EIP-1193 test wallet, injected into the page before it loads and announced over EIP-6963
// like a browser extension. It forwards requests to Anvil, which signs for its unlocked dev
// accounts; knobs on window.__testWallet switch the account or chain and make the next
// signature request fail as a user rejection (4001).
// Installed by `context.addInitScript(installTestWallet, options)`: it must be self-contained.
export function installTestWallet({ rpcUrl, account, chainId, realChainId }) {
  // Like a real wallet, it remembers the chain it was switched to across page loads.
  const saved = Number(sessionStorage.getItem("__testWallet.chainId"));
  const w = (window.__testWallet = { account, chainId: saved || chainId, rejectNext: 0, calls: [] });
  const listeners = {};
  const emit = (ev, arg) => (listeners[ev] || []).forEach((f) => f(arg));
  const rpc = async (method, params) => {
    const r = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params ?? [] }),
    });
    const j = await r.json();
    if (j.error) throw Object.assign(new Error(j.error.message), { code: j.error.code, data: j.error.data });
    return j.result;
  };
  const rejected = () => Object.assign(new Error("User rejected the request."), { code: 4001 });
  const provider = {
    async request({ method, params }) {
      w.calls.push(method);
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [w.account];
        case "eth_chainId":
          return "0x" + w.chainId.toString(16);
        case "wallet_switchEthereumChain": {
          const id = parseInt(params[0].chainId, 16);
          if (id !== realChainId) throw Object.assign(new Error("Unrecognized chain"), { code: 4902 });
          w.chainId = id;
          sessionStorage.setItem("__testWallet.chainId", String(id));
          emit("chainChanged", params[0].chainId);
          return null;
        }
        case "wallet_addEthereumChain":
          return null;
        case "personal_sign":
        case "eth_sendTransaction":
          if (w.rejectNext > 0) {
            w.rejectNext--;
            throw rejected();
          }
          if (w.chainId !== realChainId && method === "eth_sendTransaction") throw new Error("wallet is on another chain");
          return rpc(method, params);
        default:
          return rpc(method, params);
      }
    },
    on(ev, f) {
      (listeners[ev] ||= []).push(f);
    },
    removeListener(ev, f) {
      listeners[ev] = (listeners[ev] || []).filter((x) => x !== f);
    },
  };
  w.setAccount = (a) => {
    w.account = a;
    emit("accountsChanged", [a]);
  };
  const icon = "data:image/svg+xml;base64," + btoa('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="#24509c"/></svg>');
  const detail = Object.freeze({
    info: { uuid: "6f1c2a64-5b0e-4b8e-9a43-2e1f3c4d5e60", name: "Test Wallet", icon, rdns: "dev.trustml.testwallet" },
    provider,
  });
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
}
