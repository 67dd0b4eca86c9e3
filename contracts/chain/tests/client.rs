//! The chain client against a throwaway Anvil: connect, default keys, deploy, calls, reverts.
//! Skipped with a note when node_modules has no anvil (not in CI).

use std::path::Path;
use std::time::Duration;
use trustml_chain::anvil::Anvil;
use trustml_chain::verifier::adapter_deploy_code;
use trustml_chain::{Address, ChainError, Client};

fn anvil() -> Option<Anvil> {
    let a = Anvil::start(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    if a.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run `npm ci` first (no anvil)"
        );
        println!("NOTE: no anvil in node_modules (run `npm ci`); skipped");
    }
    a
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn deploys_and_reads_across_blocking_work() {
    let Some(node) = anvil() else { return };
    block_on(async {
        let c = Client::connect_with_key(&node.url, None).await.unwrap();
        assert_eq!(c.chain_id(), 31337);
        let code = adapter_deploy_code(Address::repeat_byte(1), 2, [7; 32], 1_000_000);
        // The adapter refuses a verifier without code: the revert is named, and (a cached
        // nonce would be burnt by it) the next transaction still gets mined.
        let e = c.deploy_code(code, "adapter").await.unwrap_err();
        assert!(matches!(e, ChainError::Reverted { .. }), "{e}");
        assert!(e.to_string().contains("VerifierHasNoCode"), "{e}");
        // Code that returns a 1-byte runtime: deploys, then again after blocking work
        // (a proof computed on the runtime's thread must not stall later receipts).
        let tiny = hex::decode("600160005360016000f3").unwrap();
        let d = c.deploy_code(tiny.clone(), "tiny").await.unwrap();
        assert_eq!(d.code_size, 1);
        std::thread::sleep(Duration::from_secs(3));
        let d2 = tokio::time::timeout(Duration::from_secs(30), c.deploy_code(tiny, "tiny"))
            .await
            .expect("a receipt within 30 s")
            .unwrap();
        assert_ne!(d.address, d2.address);
    });
}

#[test]
fn websocket_urls_work() {
    let Some(node) = anvil() else { return };
    // Anvil answers JSON-RPC over WebSocket on the same port.
    let ws = node.url.replacen("http://", "ws://", 1);
    block_on(async {
        let c = Client::connect(&ws).await.unwrap();
        assert_eq!(c.chain_id(), 31337);
        let c = Client::connect_with_key(&ws, None).await.unwrap();
        let tiny = hex::decode("600160005360016000f3").unwrap();
        assert_eq!(c.deploy_code(tiny, "tiny").await.unwrap().code_size, 1);
    });
}

#[test]
fn other_chains_need_a_key() {
    let Some(_node) = anvil() else { return };
    let Some(a) =
        Anvil::start_with_chain_id(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."), 5)
    else {
        return;
    };
    let e = block_on(Client::connect_with_key(&a.url, None)).unwrap_err();
    assert!(matches!(e, ChainError::NoKey(5)), "{e}");
    let e = block_on(Client::connect("ftp://127.0.0.1:1")).unwrap_err();
    assert!(matches!(e, ChainError::Connect { .. }), "{e}");
}
