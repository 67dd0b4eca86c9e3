//! The chain client against a throwaway Anvil: connect, default keys, deploy, calls, reverts.
//! Skipped with a note when node_modules has no anvil (not in CI).

use std::path::Path;
use std::time::Duration;
use trustml_chain::anvil::Anvil;
use trustml_chain::market::{CircuitArtifacts, MarketParams, OrderStatus, Step};
use trustml_chain::verifier::adapter_deploy_code;
use trustml_chain::{Address, ChainError, Client, B256, U256};

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
        let code = adapter_deploy_code(Address::repeat_byte(1), 2, 1024, [7; 32], 1_000_000);
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

/// Baby Jubjub B8 (a valid buyer key).
const B8: (&str, &str) = (
    "5299619240641551281634865583518297030282874472190772894086521144482721001553",
    "16950150798460657717958625567821834550301663161624707787222815936182638968203",
);
const PROOF_LEN: usize = 96;

/// The marketplace client's delivery: commit then reveal, each refused when its deadline is
/// closer than the margin; the pair allowed at deployment; proofs of the wrong length refused
/// by the adapter.
#[test]
fn delivery_commits_then_reveals_within_margins() {
    let Some(node) = anvil() else { return };
    block_on(async {
        let c = Client::connect_with_key(&node.url, None).await.unwrap();
        let v = hex::decode(trustml_chain::anvil::ACCEPT_ALL_VERIFIER).unwrap();
        let art = |n: usize, d: u8| CircuitArtifacts {
            verifier: &v,
            num_public_inputs: n,
            proof_len: PROOF_LEN,
            vk_digest: [d; 32],
        };
        let params = MarketParams {
            fee_recipient: None,
            fee_bps: 100,
            delivery_window: 1000,
            reveal_window: 300,
            verifier_gas_limit: 1_000_000,
        };
        let m = c
            .deploy_market(art(3, 1), art(7, 2), &params)
            .await
            .unwrap();
        assert_eq!(m.listing.proof_len, PROOF_LEN);
        let proof = vec![7u8; PROOF_LEN];
        let e = c
            .list(
                &m,
                U256::from(1),
                U256::from(2),
                U256::from(1000),
                trustml_chain::B256::ZERO,
                &proof[1..],
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ProofLengthMismatch"), "{e}");
        let l = c
            .list(
                &m,
                U256::from(1),
                U256::from(2),
                U256::from(1000),
                trustml_chain::B256::ZERO,
                &proof,
            )
            .await
            .unwrap();
        let pk = (
            U256::from_str_radix(B8.0, 10).unwrap(),
            U256::from_str_radix(B8.1, 10).unwrap(),
        );
        let order = c.buy(&m, l.id.unwrap(), pk).await.unwrap().id.unwrap();
        let eph = (U256::from(5), U256::from(6));
        let ct = vec![U256::from(9)];

        // The deadline is 1000 s away: a 2000 s margin refuses to commit.
        let e = c
            .deliver_with_commitment(&m, order, eph, ct.clone(), &proof, 2000)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                ChainError::TooClose {
                    step: Step::Commit,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            c.get_order(&m, order).await.unwrap().deliveryDigest,
            B256::ZERO,
            "nothing committed"
        );
        // A 400 s margin commits (deadline 1000 s away) but refuses to reveal (300 s window).
        let e = c
            .deliver_with_commitment(&m, order, eph, ct.clone(), &proof, 400)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                ChainError::TooClose {
                    step: Step::Reveal,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("reveal deadline"), "{e}");
        let o = c.get_order(&m, order).await.unwrap();
        let digest = c
            .delivery_digest(&m, order, eph, &ct, &proof)
            .await
            .unwrap();
        assert_eq!(o.deliveryDigest, digest, "committed");
        assert_eq!(OrderStatus::of(&o).unwrap(), OrderStatus::Open);
        // The commitment is there: a 60 s margin reveals without committing again.
        let d = c
            .deliver_with_commitment(&m, order, eph, ct.clone(), &proof, 60)
            .await
            .unwrap();
        assert!(d.commit.is_none(), "already committed");
        assert_eq!(d.digest, digest);
        let o = c.get_order(&m, order).await.unwrap();
        assert_eq!(OrderStatus::of(&o).unwrap(), OrderStatus::Delivered);
        let (rx, ry, got) = c.delivery(&m, order).await.unwrap().unwrap();
        assert_eq!((rx, ry, got), (eph.0, eph.1, ct));
        // The order tag depends on the deployment.
        let t1 = c.order_tag(&m, order).await.unwrap();
        let m2 = c
            .deploy_market(art(3, 1), art(7, 2), &params)
            .await
            .unwrap();
        assert_ne!(t1, c.order_tag(&m2, order).await.unwrap());
    });
}
