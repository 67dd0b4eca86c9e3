//! The generated verifiers and the adapter on a real node: each test run starts its own
//! Anvil (the npm binary in node_modules) on a free port. Skipped, with a note, only when
//! node_modules is absent (CI runs `npm ci` first).

mod common;

use alloy::primitives::U256;
use common::*;
use verifier_gen::anvil::Anvil;
use verifier_gen::rpc;

fn start_anvil() -> Option<Anvil> {
    let a = Anvil::start(&repo_root());
    if a.is_none() {
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
    let d = rpc::deploy(
        url,
        None,
        &f.verifier,
        adapter(),
        f.gen.num_instances,
        f.gen.vk_digest,
        verifier_gen::DEFAULT_VERIFIER_GAS_LIMIT,
    )
    .unwrap();
    assert_eq!(d.chain_id, 31337);
    assert!(
        d.verifier_code_size > 0 && d.adapter_code_size > 0,
        "deployed code size"
    );
    assert_eq!(d.verifier_code_size, f.verifier.runtime.len());
    assert_eq!(
        rpc::code_size(url, d.verifier).unwrap(),
        f.verifier.runtime.len()
    );

    let good = words(&f.instances);
    // Raw verifier, by eth_call with a gas cap.
    assert!(rpc::raw_verify(
        url,
        d.verifier,
        verifier_gen::encode_calldata(&f.instances, &f.proof),
        5_000_000
    )
    .unwrap());
    assert!(!rpc::raw_verify(
        url,
        d.verifier,
        verifier_gen::encode_calldata(&f.instances, &tampered(&f.proof)),
        5_000_000
    )
    .unwrap());

    // Adapter.
    assert!(
        rpc::verify_call(url, d.adapter, &f.proof, &u256s(&good)).unwrap(),
        "{}: valid proof",
        f.name
    );
    assert!(
        !rpc::verify_call(url, d.adapter, &tampered(&f.proof), &u256s(&good)).unwrap(),
        "tampered proof"
    );
    assert!(
        !rpc::verify_call(
            url,
            d.adapter,
            &f.proof,
            &u256s(&words(&changed_input(&f.instances)))
        )
        .unwrap(),
        "changed input"
    );
    assert!(
        !rpc::verify_call(
            url,
            d.adapter,
            &other.proof,
            &u256s(&words(&other.instances))
        )
        .unwrap(),
        "other circuit's proof"
    );
    let mut nc = good.clone();
    nc[0] = add_be(nc[0], modulus_be());
    let e = rpc::verify_call(url, d.adapter, &f.proof, &u256s(&nc))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("PublicInputNotInField"),
        "non-canonical input: {e}"
    );

    let s = rpc::verify_send(url, None, d.adapter, &f.proof, &u256s(&good)).unwrap();
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
    let e = rpc::resolve_key(&a.url, None).unwrap_err().to_string();
    assert!(e.contains("TRUSTML_PRIVATE_KEY"), "{e}");
    assert!(rpc::resolve_key(&a.url, Some(rpc::ANVIL_DEV_KEY)).is_ok());
}
