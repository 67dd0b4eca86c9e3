//! The prompt marketplace end to end on a local Anvil, with the real generated verifiers:
//! list (listing proof verified on chain) → buy → deliver: commit, then reveal (delivery proof
//! verified on chain, seller credited) → withdraw → the buyer decrypts exactly the listed
//! prompt; and the rejections: a delivery proof for another buyer or another order, a tampered
//! ciphertext, a different prompt, a reveal that is not what was committed, a commitment after
//! the deadline (refused by the client's margin, then by the contract); a reveal after the
//! deadline settles when committed before it (refunds wait for the reveal deadline); refunds
//! after the deadline, by anyone, to the buyer. The order tag computed in Rust equals the
//! contract's `orderTag`.
//!
//! Skipped, with a note, only when node_modules is absent (CI runs `npm ci` first).

use std::path::{Path, PathBuf};
use trustml::circuit::Visibilities;
use trustml::data::{read_input, read_samples};
use trustml::market::delivery::DeliveryDir;
use trustml::market::listing::{prove_listing, ListingSecret};
use trustml::market::{order_tag, CiphertextFile};
use trustml::model::{CompileOptions, CompiledModel};
use trustml::proof::Keys;
use trustml_babyjubjub::{keygen, Ciphertext, Fr, Point};
use trustml_chain::anvil::Anvil;
use trustml_chain::market::{CircuitArtifacts, MarketDeployment, MarketParams, OrderStatus, Step};
use trustml_chain::verifier::DEFAULT_VERIFIER_GAS_LIMIT;
use trustml_chain::{ChainError, Client, U256};
use trustml_kit::field::{from_hex as fr_from_hex, to_be_bytes, to_hex as fr_to_hex};
use trustml_kit::ProofFile;

const BUYER1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const BUYER2: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const WINDOW: u64 = 3600;
const REVEAL: u64 = 600;
const MARGIN: u64 = 60;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    repo_root().join("prover/fixtures/prompt_generator")
}

fn u(f: &Fr) -> U256 {
    U256::from_be_bytes(to_be_bytes(f))
}

fn uh(s: &str) -> U256 {
    u(&fr_from_hex(s).unwrap())
}

fn artifacts(keys: &Keys, n: usize) -> (verifier_gen::CompiledContract, usize, [u8; 32]) {
    let gen = verifier_gen::gen_verifier(&keys.params, &keys.vk, n);
    let c = verifier_gen::compile_verifier(&gen).expect("verifier compiles within EIP-170");
    (c, gen.proof_len, gen.vk_digest)
}

/// A delivery proof's arguments for `deliver`.
struct Delivery {
    eph: (U256, U256),
    ct: Vec<U256>,
    proof: Vec<u8>,
}

fn delivery_of(pf: &ProofFile) -> Delivery {
    let ct = CiphertextFile::from_instances(&pf.instances).unwrap();
    Delivery {
        eph: (uh(&ct.r.x), uh(&ct.r.y)),
        ct: ct.blocks.iter().map(|b| uh(b)).collect(),
        proof: pf.proof_bytes(Path::new("proof")).unwrap(),
    }
}

/// Commits (unless already committed) and reveals; the reveal's gas.
async fn deliver(
    c: &Client,
    m: &MarketDeployment,
    order: u64,
    d: &Delivery,
) -> Result<u64, String> {
    c.deliver_with_commitment(m, U256::from(order), d.eph, d.ct.clone(), &d.proof, MARGIN)
        .await
        .map(|s| s.reveal.gas_used)
        .map_err(|e| e.to_string())
}

async fn digest(c: &Client, m: &MarketDeployment, order: u64, d: &Delivery) -> trustml_chain::B256 {
    c.delivery_digest(m, U256::from(order), d.eph, &d.ct, &d.proof)
        .await
        .unwrap()
}

fn expect_revert(r: Result<u64, String>, error: &str) {
    let e = r.expect_err("the marketplace accepted it");
    assert!(e.contains(error), "expected {error}, got: {e}");
}

#[test]
fn prompt_sale_on_anvil() {
    let Some(node) = Anvil::for_test(&repo_root()) else {
        return;
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(sale(node.url.as_str()));
}

async fn sale(url: &str) {
    let seller = Client::connect_with_key(url, None).await.unwrap();
    let buyer1 = Client::connect_with_key(url, Some(BUYER1)).await.unwrap();
    let buyer2 = Client::connect_with_key(url, Some(BUYER2)).await.unwrap();
    let work = tempfile::tempdir().unwrap();

    // The generator, compiled for listings; its keys and the delivery circuit's.
    let samples = read_samples(&fixtures().join("generator_calibration.json")).unwrap();
    let opts = CompileOptions {
        vis: Visibilities::LISTING,
        listing: true,
        ..Default::default()
    };
    let gen_dir = work.path().join("generator");
    let model = CompiledModel::compile(
        &fixtures().join("generator.onnx"),
        &samples,
        &opts,
        &gen_dir,
    )
    .unwrap();
    let srs = trustml_srs::generate_insecure(model.settings.k, Some(11));
    let model_keys = trustml::proof::setup(&model, &srs, |_| {}).unwrap();
    let n: usize = model.program.inputs.iter().map(|(_, w)| w.len()).sum();
    let blocks = trustml::packing::InputPacking::of(&model.program).words(n);
    let deliv = DeliveryDir::create(&work.path().join("delivery"), blocks).unwrap();
    let srs = trustml_srs::generate_insecure(deliv.settings.k, Some(12));
    let deliv_keys = deliv.setup(&srs, |_| {}).unwrap();

    // Listing proof of the fixture prompt.
    let prompt_path = fixtures().join("generator.input.json");
    let prompt = read_input(&prompt_path).unwrap();
    let seller_addr: [u8; 20] = seller.sender().unwrap().into();
    let (listing, secret) =
        prove_listing(&model, &model_keys, &prompt, &prompt_path, seller_addr).unwrap();
    // The published preview is what H commits to; a swapped preview is refused off chain.
    listing.check_preview(Path::new("listing.json")).unwrap();
    let mut swapped = listing.clone();
    swapped.proof.outputs[0].field[0] = "1".into();
    assert!(swapped.check_preview(Path::new("listing.json")).is_err());
    let secret_path = work.path().join("listing.secret.json");
    std::fs::write(&secret_path, serde_json::to_string(&secret).unwrap()).unwrap();

    // Deploy: verifiers + adapters, registry, marketplace (1% fee).
    let ln = model.settings.num_instances;
    let (lv, lp, ld) = artifacts(&model_keys, ln);
    let (dv, dp, dd) = artifacts(&deliv_keys, deliv.settings.num_instances);
    let m = seller
        .deploy_market(
            CircuitArtifacts {
                verifier: &lv.creation,
                num_public_inputs: ln,
                proof_len: lp,
                vk_digest: ld,
            },
            CircuitArtifacts {
                verifier: &dv.creation,
                num_public_inputs: deliv.settings.num_instances,
                proof_len: dp,
                vk_digest: dd,
            },
            &MarketParams {
                fee_recipient: None,
                fee_bps: 100,
                delivery_window: WINDOW,
                reveal_window: REVEAL,
                verifier_gas_limit: DEFAULT_VERIFIER_GAS_LIMIT,
            },
        )
        .await
        .unwrap();

    // List. A listing whose output hash does not match its proof is refused.
    let price = U256::from(10u64.pow(16));
    let proof = listing.proof.proof_bytes(&gen_dir).unwrap();
    let (c, h) = (uh(&listing.commitment), uh(&listing.output_hash));
    let bad = seller
        .list(
            &m,
            c,
            h + U256::from(1),
            price,
            trustml_chain::B256::ZERO,
            &proof,
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("InvalidProof"), "{bad}");
    let listed = seller
        .list(&m, c, h, price, trustml_chain::B256::ZERO, &proof)
        .await
        .unwrap();
    assert_eq!(listed.id, Some(U256::from(1)));
    println!("list gasUsed {}", listed.gas_used);

    // Two buyers, three orders.
    let mut rng = rand::rngs::OsRng;
    let (sk1, pk1) = keygen(&mut rng);
    let (_, pk2) = keygen(&mut rng);
    let pk = |p: &Point| (u(&p.x), u(&p.y));
    let o1 = buyer1.buy(&m, U256::from(1), pk(&pk1)).await.unwrap();
    let o2 = buyer2.buy(&m, U256::from(1), pk(&pk2)).await.unwrap();
    let o3 = buyer2.buy(&m, U256::from(1), pk(&pk2)).await.unwrap();
    assert_eq!(
        (o1.id, o2.id, o3.id),
        (
            Some(U256::from(1)),
            Some(U256::from(2)),
            Some(U256::from(3))
        )
    );
    println!("buy gasUsed {}", o1.gas_used);

    // The order tag the prover uses is the contract's.
    let chain_id = seller.chain_id();
    let market: [u8; 20] = m.marketplace.into();
    let tag = |order: u64| order_tag(chain_id, market, order);
    for order in [1, 2, 3] {
        assert_eq!(
            seller.order_tag(&m, U256::from(order)).await.unwrap(),
            u(&tag(order)),
            "orderTag({order})"
        );
    }
    assert_ne!(tag(1), order_tag(chain_id + 1, market, 1));

    let prove = |s: &ListingSecret, buyer: &Point, order_tag: Fr| {
        delivery_of(
            &deliv
                .prove(&deliv_keys, s, &secret_path, buyer, order_tag)
                .unwrap(),
        )
    };

    // Rejected deliveries of order 1 (each is committed, then revealed).
    expect_revert(
        deliver(&seller, &m, 1, &prove(&secret, &pk2, tag(1))).await,
        "InvalidProof",
    ); // other buyer
    expect_revert(
        deliver(&seller, &m, 1, &prove(&secret, &pk1, tag(2))).await,
        "InvalidProof",
    ); // other order
    expect_revert(
        deliver(&seller, &m, 1, &prove(&secret, &pk1, Fr::from(1))).await,
        "InvalidProof",
    ); // the plain order id: no tag (a proof that could be replayed on another deployment)
    let mut tampered = prove(&secret, &pk1, tag(1));
    tampered.ct[0] += U256::from(1);
    expect_revert(deliver(&seller, &m, 1, &tampered).await, "InvalidProof");
    // A reveal that is not what was committed (here: committed honestly, tampered reveal).
    let good = prove(&secret, &pk1, tag(1));
    let d = digest(&seller, &m, 1, &good).await;
    seller.commit_delivery(&m, U256::from(1), d).await.unwrap();
    let e = seller
        .deliver(
            &m,
            U256::from(1),
            tampered.eph,
            tampered.ct.clone(),
            &tampered.proof,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("DigestMismatch"), "{e}");
    // Another prompt (its own commitment; the contract checks against the listed one).
    let mut other_blocks: Vec<Fr> = secret
        .blocks
        .iter()
        .map(|b| fr_from_hex(b).unwrap())
        .collect();
    other_blocks[0] += Fr::from(64);
    let salt = fr_from_hex(&secret.salt).unwrap();
    let other = ListingSecret {
        commitment: fr_to_hex(&trustml_poseidon::commit(&other_blocks, salt)),
        blocks: other_blocks.iter().map(fr_to_hex).collect(),
        ..secret.clone()
    };
    expect_revert(
        deliver(&seller, &m, 1, &prove(&other, &pk1, tag(1))).await,
        "InvalidProof",
    );
    // Not delivered yet: no refund before the deadline.
    let e = buyer1.refund(&m, U256::from(1)).await.unwrap_err();
    assert!(e.to_string().contains("DeadlineNotReached"), "{e}");

    // The honest delivery (commit, then reveal) pays the seller (minus the fee) and settles
    // the order once.
    let sent = seller
        .deliver_with_commitment(
            &m,
            U256::from(1),
            good.eph,
            good.ct.clone(),
            &good.proof,
            MARGIN,
        )
        .await
        .unwrap();
    let commit_gas = sent.commit.expect("committed anew").gas_used;
    println!(
        "commitDelivery gasUsed {commit_gas}, deliver (reveal) gasUsed {}",
        sent.reveal.gas_used
    );
    assert!(
        sent.reveal.gas_used <= 500_000,
        "reveal {} gas",
        sent.reveal.gas_used
    );
    // Settled: the client refuses a second delivery, and so does the contract.
    let e = deliver(&seller, &m, 1, &good).await.unwrap_err();
    assert!(e.contains("Delivered, not open"), "{e}");
    let e = seller
        .deliver(&m, U256::from(1), good.eph, good.ct.clone(), &good.proof)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("OrderNotOpen"), "{e}");
    let o = seller.get_order(&m, U256::from(1)).await.unwrap();
    assert_eq!(OrderStatus::of(&o).unwrap(), OrderStatus::Delivered);
    let seller_addr = seller.get_listing(&m, U256::from(1)).await.unwrap().seller;
    let fee = price / U256::from(100);
    assert_eq!(
        seller.withdrawable(&m, seller_addr).await.unwrap(),
        price - fee + fee
    );
    let w = seller.withdraw(&m).await.unwrap();
    assert_eq!(w.id, Some(price));

    // The buyer reads the Delivered event and decrypts exactly the listed prompt.
    let (rx, ry, ct) = buyer1.delivery(&m, U256::from(1)).await.unwrap().unwrap();
    let fr = |v: U256| fr_from_hex(&format!("0x{v:064x}")).unwrap();
    let ciphertext = Ciphertext {
        r_point: Point {
            x: fr(rx),
            y: fr(ry),
        },
        blocks: ct.into_iter().map(fr).collect(),
    };
    let plain = trustml_babyjubjub::decrypt(&ciphertext, &sk1, tag(1)).unwrap();
    let listed_blocks: Vec<Fr> = secret
        .blocks
        .iter()
        .map(|b| fr_from_hex(b).unwrap())
        .collect();
    assert_eq!(plain, listed_blocks);
    let ints = trustml::market::unpack_prompt(&plain, &model).unwrap();
    let tokens: Vec<f32> = trustml::market::blocks_to_input(&ints, secret.scale_bits)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    assert_eq!(tokens, prompt.input_data[0]);

    // Order 2 is committed 100 s before its deadline and revealed 100 s after it: the reveal
    // settles, and the buyer cannot refund in between.
    seller.anvil_increase_time(WINDOW - 100).await.unwrap();
    let late = prove(&secret, &pk2, tag(2));
    let d2 = digest(&seller, &m, 2, &late).await;
    let c2 = seller.commit_delivery(&m, U256::from(2), d2).await.unwrap();
    seller.anvil_increase_time(200).await.unwrap();
    let e = buyer2.refund(&m, U256::from(2)).await.unwrap_err();
    assert!(e.to_string().contains("RevealPending"), "{e}");
    // Order 3 was never committed: past its deadline the client refuses to commit (margin),
    // and so does the contract.
    let never = prove(&secret, &pk2, tag(3));
    let e = seller
        .deliver_with_commitment(
            &m,
            U256::from(3),
            never.eph,
            never.ct.clone(),
            &never.proof,
            0,
        )
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
    let e = seller
        .commit_delivery(&m, U256::from(3), digest(&seller, &m, 3, &never).await)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("DeadlinePassed"), "{e}");
    let gas = deliver(&seller, &m, 2, &late).await.unwrap();
    println!(
        "order 2: commitDelivery gasUsed {}, reveal after the deadline gasUsed {gas}",
        c2.gas_used
    );
    let o = seller.get_order(&m, U256::from(2)).await.unwrap();
    assert_eq!(OrderStatus::of(&o).unwrap(), OrderStatus::Delivered);
    // Anyone may trigger the refund of order 3 (here the other buyer); it credits order 3's
    // buyer only.
    buyer1.refund(&m, U256::from(3)).await.unwrap();
    let stranger = buyer1.sender().unwrap();
    assert_eq!(seller.withdrawable(&m, stranger).await.unwrap(), U256::ZERO);
    let e = buyer2.refund(&m, U256::from(3)).await.unwrap_err();
    assert!(e.to_string().contains("OrderNotOpen"), "{e}");
    let w = buyer2.withdraw(&m).await.unwrap();
    assert_eq!(w.id, Some(price));
    let e = buyer2.withdraw(&m).await.unwrap_err();
    assert!(e.to_string().contains("NothingToWithdraw"), "{e}");
}
