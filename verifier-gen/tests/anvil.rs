//! The generated verifiers and the adapter on a real node: each test run starts its own
//! Anvil (the npm binary in node_modules) on a free port. Skipped, with a note, only when
//! node_modules is absent (CI runs `npm ci` first).

mod common;

use alloy::primitives::U256;
use common::*;
use trustml_chain::anvil::Anvil;
use trustml_chain::verifier::DEFAULT_VERIFIER_GAS_LIMIT;
use trustml_chain::{resolve_key, Client, ANVIL_DEV_KEY};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn start_anvil() -> Option<Anvil> {
    let a = Anvil::start(&repo_root());
    if a.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: anvil did not start (is node_modules installed? `npm ci`)"
        );
        println!("NOTE: node_modules/@foundry-rs/anvil-linux-amd64 is missing (run `npm ci` at the repo root); skipping the Anvil test");
    }
    a
}

/// One node per test, killed when the test ends (a static one would outlive the process).
fn anvil() -> Option<Anvil> {
    start_anvil()
}

fn u256s(ws: &[[u8; 32]]) -> Vec<U256> {
    ws.iter().map(|w| U256::from_be_bytes(*w)).collect()
}

fn check(f: &Fixture, other: &Fixture) {
    let Some(node) = anvil() else { return };
    let url = &node.url;
    // One sender account: serialize the tests' transactions (nonces).
    static SENDER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = SENDER.lock().unwrap_or_else(|e| e.into_inner());
    block_on(check_on(url, f, other));
}

async fn check_on(url: &str, f: &Fixture, other: &Fixture) {
    let c = Client::connect_with_key(url, None).await.unwrap();
    let d = c
        .deploy_verifier(
            &f.verifier.creation,
            f.gen.num_instances,
            f.gen.proof_len,
            f.gen.vk_digest,
            DEFAULT_VERIFIER_GAS_LIMIT,
        )
        .await
        .unwrap();
    assert_eq!(d.chain_id, 31337);
    assert!(
        d.verifier_code_size > 0 && d.adapter_code_size > 0,
        "deployed code size"
    );
    assert_eq!(d.verifier_code_size, f.verifier.runtime.len());
    assert_eq!(
        c.code_size(d.verifier).await.unwrap(),
        f.verifier.runtime.len()
    );

    let good = words(&f.instances);
    // Raw verifier, by eth_call with a gas cap.
    assert!(c
        .raw_verify(
            d.verifier,
            verifier_gen::encode_calldata(&f.instances, &f.proof),
            5_000_000
        )
        .await
        .unwrap());
    assert!(!c
        .raw_verify(
            d.verifier,
            verifier_gen::encode_calldata(&f.instances, &tampered(&f.proof)),
            5_000_000
        )
        .await
        .unwrap());

    // Adapter.
    assert!(
        c.verify_call(d.adapter, &f.proof, &u256s(&good))
            .await
            .unwrap(),
        "{}: valid proof",
        f.name
    );
    assert!(
        !c.verify_call(d.adapter, &tampered(&f.proof), &u256s(&good))
            .await
            .unwrap(),
        "tampered proof"
    );
    assert!(
        !c.verify_call(
            d.adapter,
            &f.proof,
            &u256s(&words(&changed_input(&f.instances)))
        )
        .await
        .unwrap(),
        "changed input"
    );
    // Another circuit's proof: refused (false, or its length is not this circuit's).
    assert!(
        !matches!(
            c.verify_call(d.adapter, &other.proof, &u256s(&words(&other.instances)))
                .await,
            Ok(true)
        ),
        "other circuit's proof"
    );
    // The adapter pins the proof length: `proof ‖ junk` (which the raw verifier accepts, as
    // it never reads past the proof) and truncated proofs are refused.
    let mut junk = f.proof.clone();
    junk.extend([0xAB; 32]);
    assert!(c
        .raw_verify(
            d.verifier,
            verifier_gen::encode_calldata(&f.instances, &junk),
            5_000_000
        )
        .await
        .unwrap());
    for bad in [&junk[..], &f.proof[..f.proof.len() - 32]] {
        let e = c
            .verify_call(d.adapter, bad, &u256s(&good))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("ProofLengthMismatch"), "{e}");
    }
    let mut nc = good.clone();
    nc[0] = add_be(nc[0], modulus_be());
    let e = c
        .verify_call(d.adapter, &f.proof, &u256s(&nc))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("PublicInputNotInField"),
        "non-canonical input: {e}"
    );

    let s = c
        .verify_send(d.adapter, &f.proof, &u256s(&good))
        .await
        .unwrap();
    assert!(s.status && s.gas_used > 21_000);
    println!(
        "{}: verifyProof tx gasUsed {}, runtime bytecode {} bytes, adapter calldata {} bytes, raw calldata {} bytes",
        f.name,
        s.gas_used,
        f.verifier.runtime.len(),
        s.calldata_bytes,
        verifier_gen::encode_calldata(&f.instances, &f.proof).len()
    );
}

#[test]
fn mlp_verifier_on_anvil() {
    check(mlp(), cnn());
}

#[test]
fn cnn_verifier_on_anvil() {
    check(cnn(), mlp());
}

#[test]
fn deploy_refuses_other_chains_without_a_key() {
    // The default key is only used on chain 31337.
    let Some(_) = anvil() else { return };
    let a = Anvil::start_with_chain_id(&repo_root(), 1337).expect("second anvil");
    let e = block_on(Client::connect_with_key(&a.url, None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("chain id 1337") && e.contains("sender key"),
        "{e}"
    );
    assert!(resolve_key(1337, Some(ANVIL_DEV_KEY)).is_ok());
    assert!(block_on(Client::connect_with_key(&a.url, Some(ANVIL_DEV_KEY))).is_ok());
}
