//! The audit client against a throwaway Anvil, with an accept-all raw verifier behind a real
//! `ProofVerifierAdapter` (six public inputs, pinned proof length): whole audits (passed,
//! failed, not revealed, not accepted) with every wei accounted for, the seed and commitment
//! formulas against the contract, reverts decoded by name.
//! Skipped with a note when node_modules has no anvil (not in CI).

use alloy::providers::Provider as _;
use std::path::Path;
use trustml_chain::anvil::Anvil;
use trustml_chain::audit::{
    num_batches, requester_commitment, seed_of, AuditDeployment, AuditRequest, AuditStatus, Outcome,
};
use trustml_chain::market::CircuitArtifacts;
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

/// Anvil's second dev account: the model provider.
const PROVIDER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Anvil's third dev account: a bystander who submits and finalizes.
const OTHER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const PROOF_LEN: usize = 96;
const B: u32 = 4;
const DEPTH: u8 = 4;
const C_W: u64 = 12345;
const ROOT: u64 = 777;

fn eth(milli: u64) -> U256 {
    U256::from(milli) * U256::from(1_000_000_000_000_000u64)
}

/// Requester (dev key 0, also the registry owner), provider (dev key 1), bystander (dev key 2),
/// the deployment and a registered model.
struct World {
    req: Client,
    prov: Client,
    other: Client,
    d: AuditDeployment,
    model: U256,
}

async fn world(url: &str) -> World {
    let req = Client::connect_with_key(url, None).await.unwrap();
    let prov = Client::connect_with_key(url, Some(PROVIDER_KEY))
        .await
        .unwrap();
    let other = Client::connect_with_key(url, Some(OTHER_KEY))
        .await
        .unwrap();
    let d = req.deploy_audit().await.unwrap();
    let v = hex::decode(trustml_chain::anvil::ACCEPT_ALL_VERIFIER).unwrap();
    let art = |n| CircuitArtifacts {
        verifier: &v,
        num_public_inputs: n,
        proof_len: PROOF_LEN,
        vk_digest: [3; 32],
    };
    let e = req
        .deploy_audit_circuit(&d, art(5), B, DEPTH, 1_000_000)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("6 public inputs"), "{e}");
    let circuit = req
        .deploy_audit_circuit(&d, art(6), B, DEPTH, 1_000_000)
        .await
        .unwrap();
    let model = prov
        .register_audit_model(&d, circuit.circuit_id, U256::from(C_W))
        .await
        .unwrap()
        .id
        .unwrap();
    let m = req.audit_model(&d, model).await.unwrap();
    assert_eq!(m.provider, prov.sender().unwrap());
    assert_eq!(m.verifier, circuit.verifier.adapter);
    assert_eq!((m.batchSize, m.treeDepth, m.active), (B, DEPTH, true));
    assert_eq!(m.weightsCommitment, U256::from(C_W));
    World {
        req,
        prov,
        other,
        d,
        model,
    }
}

async fn request(c: &Client, model: U256, num_samples: u64, theta: (u64, u64)) -> AuditRequest {
    AuditRequest {
        model_id: model,
        dataset_root: U256::from(ROOT),
        dataset_size: U256::from(10),
        num_samples,
        theta_num: theta.0,
        theta_den: theta.1,
        bounty: eth(1000),
        fee: eth(100),
        provider_bond: eth(500),
        accept_deadline: c.block_timestamp().await.unwrap() + 3600,
        prove_window: 3600,
    }
}

/// ETH balance of `who`.
async fn balance(c: &Client, who: Address) -> U256 {
    c.provider().get_balance(who).await.unwrap()
}

/// Withdraws `who`'s escrow balance and checks that its ETH grew by exactly that, net of gas.
async fn withdraw_exactly(c: &Client, d: &AuditDeployment, expected: U256) {
    let me = c.sender().unwrap();
    assert_eq!(c.audit_withdrawable(d, me).await.unwrap(), expected);
    let before = balance(c, me).await;
    let s = c.withdraw_audit(d).await.unwrap();
    assert_eq!(s.id, Some(expected));
    let r = c
        .provider()
        .get_transaction_receipt(s.tx)
        .await
        .unwrap()
        .unwrap();
    let gas = U256::from(r.gas_used) * U256::from(r.effective_gas_price);
    assert_eq!(balance(c, me).await, before + expected - gas);
    assert_eq!(c.audit_withdrawable(d, me).await.unwrap(), U256::ZERO);
}

async fn accepted(w: &World, req: &AuditRequest, secret: B256, share: B256) -> U256 {
    let id = w
        .req
        .create_audit(&w.d, req, secret)
        .await
        .unwrap()
        .id
        .unwrap();
    w.prov.accept_audit(&w.d, id, share).await.unwrap();
    id
}

/// create → accept → reveal → submit every batch (anyone) → finalize → withdraw: a pass; the
/// commitment and seed formulas equal the contract's; reverts are named.
#[test]
fn audit_passes_and_pays_the_provider() {
    let Some(node) = anvil() else { return };
    block_on(async {
        let w = world(&node.url).await;
        let (req_c, prov_c, d) = (&w.req, &w.prov, &w.d);
        let requester = req_c.sender().unwrap();
        let provider = prov_c.sender().unwrap();
        let escrow_start = balance(req_c, d.escrow).await;

        // h_R as the contract computes it, for a few requesters and secrets.
        for (who, s) in [
            (requester, B256::repeat_byte(9)),
            (provider, B256::with_last_byte(1)),
        ] {
            assert_eq!(
                requester_commitment(who, s),
                req_c.audit_seed_commitment(d, who, s).await.unwrap()
            );
        }

        // n = 10, b = 4: m = 3 batches (12 samples); θ = 7/10.
        let secret = trustml_chain::audit::random_secret();
        let share = B256::repeat_byte(0x5a);
        let r = request(req_c, w.model, 10, (7, 10)).await;
        assert_eq!(num_batches(r.num_samples, B), 3);
        let id = req_c.create_audit(d, &r, secret).await.unwrap().id.unwrap();
        let a = req_c.get_audit(d, id).await.unwrap();
        assert_eq!(AuditStatus::of(&a).unwrap(), AuditStatus::Created);
        assert_eq!((a.provider, a.requester), (provider, requester));
        assert_eq!((a.numBatches, a.batchSize, a.bounty), (3, B, eth(1000)));
        assert_eq!(a.seedCommitment, requester_commitment(requester, secret));

        // Only the pinned provider accepts.
        let e = w.other.accept_audit(d, id, share).await.unwrap_err();
        assert!(e.to_string().contains("NotProvider"), "{e}");
        prov_c.accept_audit(d, id, share).await.unwrap();
        let a = req_c.get_audit(d, id).await.unwrap();
        assert_eq!(AuditStatus::of(&a).unwrap(), AuditStatus::Accepted);
        assert_eq!(a.providerShare, share);

        // The seed's block (accept + 1) is not mined yet: refused before sending.
        let e = req_c.reveal_seed(d, id, secret).await.unwrap_err();
        assert!(matches!(e, ChainError::SeedBlockNotMined { .. }), "{e}");
        req_c.anvil_mine(1).await.unwrap();
        // A wrong secret is refused by the contract, by name.
        let e = req_c
            .reveal_seed(d, id, B256::repeat_byte(1))
            .await
            .unwrap_err();
        assert!(matches!(e, ChainError::Reverted { .. }), "{e}");
        assert!(e.to_string().contains("SecretMismatch"), "{e}");
        // So is the right secret from somebody else.
        let e = prov_c.reveal_seed(d, id, secret).await.unwrap_err();
        assert!(e.to_string().contains("NotRequester"), "{e}");

        let expected = req_c.expected_audit_seed(d, id, secret).await.unwrap();
        assert_eq!(req_c.audit_seed(d, id).await.unwrap(), None);
        let rev = req_c.reveal_seed(d, id, secret).await.unwrap();
        let seed = rev.reveal.seed;
        assert_eq!(seed, expected);
        assert_eq!(req_c.audit_seed(d, id).await.unwrap(), Some(seed));
        assert_eq!(
            req_c.seed_reveal(d, id).await.unwrap(),
            Some(rev.reveal.clone())
        );
        let a = req_c.get_audit(d, id).await.unwrap();
        assert_eq!(AuditStatus::of(&a).unwrap(), AuditStatus::Proving);
        assert_eq!(a.proveDeadline, rev.reveal.prove_deadline);
        // The seed formula, offline and by the contract's view.
        let block = req_c
            .provider()
            .get_block_by_number((a.acceptBlock + 1).into())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            seed_of(
                req_c.chain_id(),
                d.escrow,
                id,
                secret,
                share,
                block.header.hash
            ),
            seed
        );
        assert_eq!(
            req_c
                .audit_seed_of(d, id, secret, share, block.header.hash)
                .await
                .unwrap(),
            seed
        );
        assert!(seed < trustml_chain::audit::snark_scalar_field());

        // What the prover proves for batch 2 with count 3.
        let inputs = req_c.batch_public_inputs(d, id, 2, 3).await.unwrap();
        let want = [C_W, ROOT, 10].map(U256::from).to_vec();
        assert_eq!(inputs[..3], want[..]);
        assert_eq!(inputs[3..], [seed, U256::from(2 * B), U256::from(3)]);

        // Batches, in any order, by anyone; each once, count ≤ b, proof length pinned.
        let proof = vec![7u8; PROOF_LEN];
        assert_eq!(req_c.pending_batches(d, id).await.unwrap(), vec![0, 1, 2]);
        let s = w.other.submit_batch(d, id, 1, 4, &proof).await.unwrap();
        assert_eq!((s.batches_submitted, s.total_correct), (1, 4));
        let e = prov_c.submit_batch(d, id, 1, 4, &proof).await.unwrap_err();
        assert!(e.to_string().contains("BatchAlreadySubmitted"), "{e}");
        let e = prov_c.submit_batch(d, id, 0, 5, &proof).await.unwrap_err();
        assert!(e.to_string().contains("CountAboveBatchSize"), "{e}");
        let e = prov_c
            .submit_batch(d, id, 0, 3, &proof[1..])
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ProofLengthMismatch"), "{e}");
        let e = prov_c.submit_batch(d, id, 3, 3, &proof).await.unwrap_err();
        assert!(e.to_string().contains("BatchIndexOutOfRange"), "{e}");
        prov_c.submit_batch(d, id, 0, 3, &proof).await.unwrap();
        assert_eq!(req_c.pending_batches(d, id).await.unwrap(), vec![2]);
        let e = w.other.finalize_audit(d, id).await.unwrap_err();
        assert!(e.to_string().contains("ProvingNotFinished"), "{e}");
        let s = prov_c.submit_batch(d, id, 2, 2, &proof).await.unwrap();
        assert_eq!((s.batches_submitted, s.total_correct), (3, 9));
        assert!(req_c.pending_batches(d, id).await.unwrap().is_empty());

        // 9 of 12 ≥ 7/10: passed; bounty + bond to the provider.
        let st = w.other.finalize_audit(d, id).await.unwrap();
        assert_eq!(st.outcome, Outcome::Passed);
        assert_eq!(st.total_correct, 9);
        assert_eq!(
            (st.samples_proven, st.samples_required),
            (U256::from(12), U256::from(12))
        );
        assert_eq!(st.credited, vec![(provider, eth(1500))]);
        let a = req_c.get_audit(d, id).await.unwrap();
        assert_eq!(AuditStatus::of(&a).unwrap(), AuditStatus::Finalized);
        assert_eq!(Outcome::of(&a).unwrap(), Outcome::Passed);
        let e = req_c.finalize_audit(d, id).await.unwrap_err();
        assert!(e.to_string().contains("UnexpectedStatus"), "{e}");
        assert!(e.to_string().contains("Finalized"), "{e}");

        assert_eq!(balance(req_c, d.escrow).await, escrow_start + eth(1500));
        withdraw_exactly(prov_c, d, eth(1500)).await;
        let e = req_c.withdraw_audit(d).await.unwrap_err();
        assert!(e.to_string().contains("NothingToWithdraw"), "{e}");
        assert_eq!(balance(req_c, d.escrow).await, escrow_start);
    });
}

/// The other endings, each paid as the rules say: a failing model (fee + bond to the
/// provider, the rest back), a seed never revealed within the blockhash window (the requester
/// pays the fee), an audit never accepted (the bounty back), a provider who never proves
/// (bond slashed to the requester).
#[test]
fn audit_failures_and_timeouts_are_paid_by_the_rules() {
    let Some(node) = anvil() else { return };
    block_on(async {
        let w = world(&node.url).await;
        let (req_c, prov_c, d) = (&w.req, &w.prov, &w.d);
        let proof = vec![7u8; PROOF_LEN];
        let secret = B256::repeat_byte(0x11);
        let share = B256::repeat_byte(0x22);

        // Failed: n = 4 (one batch), θ = 1, 3 correct.
        let r = request(req_c, w.model, 4, (1, 1)).await;
        let failed = accepted(&w, &r, secret, share).await;
        req_c.anvil_mine(1).await.unwrap();
        req_c.reveal_seed(d, failed, secret).await.unwrap();
        prov_c.submit_batch(d, failed, 0, 3, &proof).await.unwrap();
        let st = req_c.finalize_audit(d, failed).await.unwrap();
        assert_eq!(st.outcome, Outcome::Failed);
        let (requester, provider) = (req_c.sender().unwrap(), prov_c.sender().unwrap());
        assert_eq!(
            st.credited,
            vec![(provider, eth(600)), (requester, eth(900))]
        );

        // NotRevealed: accepted, then the requester lets the blockhash window close.
        let not_revealed = accepted(&w, &r, secret, share).await;
        let e = w.other.finalize_audit(d, not_revealed).await.unwrap_err();
        assert!(e.to_string().contains("RevealWindowOpen"), "{e}");
        req_c.anvil_mine(257).await.unwrap();
        let e = req_c
            .reveal_seed(d, not_revealed, secret)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("BlockhashUnavailable"), "{e}");
        let st = w.other.finalize_audit(d, not_revealed).await.unwrap();
        assert_eq!(st.outcome, Outcome::NotRevealed);
        assert_eq!(
            st.credited,
            vec![(provider, eth(600)), (requester, eth(900))]
        );

        // NotProven: revealed, one batch of three missing at the proving deadline.
        let r3 = request(req_c, w.model, 12, (1, 2)).await;
        let not_proven = accepted(&w, &r3, secret, share).await;
        req_c.anvil_mine(1).await.unwrap();
        req_c.reveal_seed(d, not_proven, secret).await.unwrap();
        prov_c
            .submit_batch(d, not_proven, 0, 4, &proof)
            .await
            .unwrap();
        prov_c
            .submit_batch(d, not_proven, 2, 4, &proof)
            .await
            .unwrap();
        // NotAccepted: created alongside, never accepted.
        let r4 = request(req_c, w.model, 4, (1, 2)).await;
        let not_accepted = req_c
            .create_audit(d, &r4, secret)
            .await
            .unwrap()
            .id
            .unwrap();
        let e = w.other.finalize_audit(d, not_accepted).await.unwrap_err();
        assert!(e.to_string().contains("AcceptDeadlineNotReached"), "{e}");
        req_c.anvil_increase_time(3601).await.unwrap();
        let e = prov_c
            .submit_batch(d, not_proven, 1, 4, &proof)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ProveDeadlinePassed"), "{e}");
        let st = w.other.finalize_audit(d, not_proven).await.unwrap();
        assert_eq!(st.outcome, Outcome::NotProven);
        assert_eq!(st.credited, vec![(requester, eth(1500))]);
        let st = w.other.finalize_audit(d, not_accepted).await.unwrap();
        assert_eq!(st.outcome, Outcome::NotAccepted);
        assert_eq!(st.credited, vec![(requester, eth(1000))]);

        // Every wei: 4 bounties + 3 bonds in, all credited, all withdrawn.
        withdraw_exactly(prov_c, d, eth(1200)).await;
        withdraw_exactly(req_c, d, eth(900 + 900 + 1500 + 1000)).await;
        assert_eq!(balance(req_c, d.escrow).await, U256::ZERO);
    });
}
