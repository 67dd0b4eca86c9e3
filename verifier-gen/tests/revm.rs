//! In-process EVM (revm) checks of the generated verifiers and the adapter: valid proofs
//! pass; tampered proofs, changed public inputs, non-canonical public inputs (x + r) and
//! proofs of another circuit fail.

mod common;

use alloy::primitives::U256;
use common::*;
use revm::context::result::{ExecutionResult, Output};
use revm::context::TxEnv;
use revm::database::InMemoryDB;
use revm::primitives::{Address, TxKind};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};
use trustml_chain::{revert, verifier};

type Evm = revm::MainnetEvm<revm::handler::MainnetContext<InMemoryDB>>;

struct Chain {
    evm: Evm,
    nonce: u64,
}

#[derive(Debug)]
enum Res {
    Ok(Vec<u8>, u64),
    Revert(Vec<u8>),
    Halt,
}

impl Chain {
    fn new() -> Self {
        Self {
            evm: Context::mainnet()
                .with_db(InMemoryDB::default())
                .build_mainnet(),
            nonce: 0,
        }
    }

    fn tx(&mut self, kind: TxKind, data: Vec<u8>, gas: u64) -> ExecutionResult {
        let tx = TxEnv {
            gas_limit: gas,
            kind,
            data: data.into(),
            nonce: self.nonce,
            ..Default::default()
        };
        self.nonce += 1;
        self.evm.transact_commit(tx).unwrap()
    }

    fn deploy(&mut self, code: Vec<u8>) -> Address {
        match self.tx(TxKind::Create, code, 16_000_000) {
            ExecutionResult::Success {
                output: Output::Create(_, Some(a)),
                ..
            } => a,
            other => panic!("deployment failed: {other:?}"),
        }
    }

    fn call(&mut self, to: Address, data: Vec<u8>, gas: u64) -> Res {
        match self.tx(TxKind::Call(to), data, gas) {
            ExecutionResult::Success {
                output: Output::Call(b),
                gas_used,
                ..
            } => Res::Ok(b.to_vec(), gas_used),
            ExecutionResult::Revert { output, .. } => Res::Revert(output.to_vec()),
            ExecutionResult::Halt { .. } => Res::Halt,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The raw verifier accepted: success with empty return data.
    fn raw_ok(&mut self, to: Address, calldata: Vec<u8>) -> bool {
        matches!(self.call(to, calldata, 5_000_000), Res::Ok(d, _) if d.is_empty())
    }

    fn verify(
        &mut self,
        adapter: Address,
        proof: &[u8],
        words: &[[u8; 32]],
    ) -> Result<bool, String> {
        let inputs: Vec<U256> = words.iter().map(|w| U256::from_be_bytes(*w)).collect();
        match self.call(
            adapter,
            verifier::encode_verify_proof(proof, &inputs),
            10_000_000,
        ) {
            Res::Ok(d, _) => Ok(verifier::decode_verify_proof(&d).unwrap()),
            Res::Revert(d) => Err(revert::describe(&d)),
            Res::Halt => Err("halt".into()),
        }
    }
}

fn deploy_pair(chain: &mut Chain, f: &Fixture) -> (Address, Address) {
    let v = chain.deploy(f.verifier.creation.clone());
    // The adapter's constructor reverts when the verifier has no code: its success is the
    // in-EVM code-size check.
    let a = chain.deploy(verifier::adapter_deploy_code(
        v,
        f.gen.num_instances,
        f.gen.proof_len,
        f.gen.vk_digest,
        verifier::DEFAULT_VERIFIER_GAS_LIMIT,
    ));
    (v, a)
}

fn check(f: &Fixture, other: &Fixture) {
    assert!(
        !f.verifier.runtime.is_empty()
            && f.verifier.runtime.len() <= verifier_gen::EIP170_MAX_RUNTIME_BYTES
    );
    // The length computed from the circuit is the real proofs' length (the adapter pins it).
    assert_eq!(
        f.gen.proof_len,
        f.proof.len(),
        "{}: proof_len from the protocol",
        f.name
    );
    let mut c = Chain::new();
    let (v, a) = deploy_pair(&mut c, f);

    // Raw verifier.
    let calldata = verifier_gen::encode_calldata(&f.instances, &f.proof);
    let gas = match c.call(v, calldata.clone(), 5_000_000) {
        Res::Ok(d, g) => {
            assert!(d.is_empty(), "raw verifier returns empty data on success");
            g
        }
        other => panic!(
            "{}: valid proof rejected by the raw verifier: {other:?}",
            f.name
        ),
    };
    println!(
        "{}: raw verifier tx gas {gas}, runtime {} bytes, calldata {} bytes",
        f.name,
        f.verifier.runtime.len(),
        calldata.len()
    );
    assert!(
        !c.raw_ok(
            v,
            verifier_gen::encode_calldata(&f.instances, &tampered(&f.proof))
        ),
        "tampered proof"
    );
    assert!(
        !c.raw_ok(
            v,
            verifier_gen::encode_calldata(&changed_input(&f.instances), &f.proof)
        ),
        "changed input"
    );
    assert!(
        !c.raw_ok(
            v,
            verifier_gen::encode_calldata(&other.instances, &other.proof)
        ),
        "other circuit's proof"
    );
    assert!(
        !c.raw_ok(
            v,
            verifier_gen::encode_calldata(&f.instances, &f.proof[..f.proof.len() - 32])
        ),
        "truncated proof"
    );
    // The raw verifier reads the proof at fixed offsets: bytes appended to a valid proof are
    // never read, so `proof ‖ junk` passes. This is why the adapter pins the length.
    let mut junk = f.proof.clone();
    junk.extend([0xAB; 32]);
    assert!(
        c.raw_ok(v, verifier_gen::encode_calldata(&f.instances, &junk)),
        "{}: the raw verifier no longer ignores trailing bytes (revisit the adapter)",
        f.name
    );
    let mut ws = words(&f.instances);
    ws[0] = add_be(ws[0], modulus_be());
    // The raw verifier reduces public inputs mod r, so it accepts x + r for x: this is why
    // the adapter must reject non-canonical inputs (if this ever fails, revisit the adapter).
    assert!(
        c.raw_ok(v, raw_calldata_words(&ws, &f.proof)),
        "{}: raw verifier no longer reduces inputs mod r",
        f.name
    );

    // Adapter.
    let good = words(&f.instances);
    assert_eq!(
        c.verify(a, &f.proof, &good),
        Ok(true),
        "{}: valid proof via adapter",
        f.name
    );
    assert_eq!(
        c.verify(a, &tampered(&f.proof), &good),
        Ok(false),
        "tampered proof via adapter"
    );
    assert_eq!(
        c.verify(a, &f.proof, &words(&changed_input(&f.instances))),
        Ok(false),
        "changed input via adapter"
    );
    assert!(
        !matches!(
            c.verify(a, &other.proof, &words(&other.instances)),
            Ok(true)
        ),
        "other circuit's proof via adapter"
    );
    for (bad, what) in [
        (vec![], "empty"),
        (junk, "proof || junk"),
        (f.proof[..f.proof.len() - 32].to_vec(), "truncated"),
    ] {
        let err = c.verify(a, &bad, &good).unwrap_err();
        assert!(
            err.contains("ProofLengthMismatch"),
            "{what} proof via adapter: {err}"
        );
    }
    let err = c.verify(a, &f.proof, &ws).unwrap_err();
    assert!(
        err.contains("PublicInputNotInField"),
        "non-canonical input: {err}"
    );
    let err = c.verify(a, &f.proof, &good[1..]).unwrap_err();
    assert!(
        err.contains("PublicInputCountMismatch"),
        "wrong count: {err}"
    );
}

#[test]
fn mlp_verifier_in_revm() {
    check(mlp(), cnn());
}

#[test]
fn cnn_verifier_in_revm() {
    check(cnn(), mlp());
}

#[test]
fn adapter_refuses_a_verifier_without_code() {
    let mut c = Chain::new();
    let code =
        verifier::adapter_deploy_code(Address::repeat_byte(0x42), 10, 1024, [0; 32], 1_000_000);
    match c.tx(TxKind::Create, code, 5_000_000) {
        ExecutionResult::Revert { output, .. } => {
            assert!(revert::describe(&output).contains("VerifierHasNoCode"))
        }
        other => panic!("adapter deployed over an empty account: {other:?}"),
    }
}

#[test]
fn oversized_bytecode_is_a_clear_error() {
    let c = verifier_gen::CompiledContract {
        creation: vec![1],
        runtime: vec![0; 24_577],
        compiler: String::new(),
    };
    let e = verifier_gen::check_size(&c, "dot width 32, 4 lanes")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("24577")
            && e.contains("EIP-170")
            && e.contains("dot width 32, 4 lanes")
            && e.contains("lookups"),
        "{e}"
    );
}
