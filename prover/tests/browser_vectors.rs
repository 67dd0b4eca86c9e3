//! Golden vectors for the web app's TypeScript crypto (`frontend/vectors/crypto.json`): the
//! browser decrypts deliveries itself, so its Poseidon, Baby Jubjub, keystream, key
//! derivation, order tag and prompt unpacking must equal these crates' bit for bit. The file
//! also carries the Poseidon parameters the TypeScript loads.
//!
//! The test fails when the file differs from what these crates compute now;
//! `TRUSTML_BLESS=1 cargo test -p trustml --test browser_vectors` rewrites it.

use rand::SeedableRng;
use serde_json::{json, Value};
use std::path::Path;
use trustml::market::{key_from_signature, key_message, order_tag};
use trustml::packing::InputPacking;
use trustml_babyjubjub::{decrypt, encrypt, keystream, Fr, Point};
use trustml_kit::field::to_hex as hex;

fn frs(v: &[Fr]) -> Value {
    json!(v.iter().map(hex).collect::<Vec<_>>())
}

fn point(p: &Point) -> Value {
    json!({ "x": hex(&p.x), "y": hex(&p.y) })
}

fn vectors() -> Value {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
    let params = trustml_poseidon::params();
    let poseidon_hash: Vec<Value> = (0..6)
        .map(|n| {
            let xs: Vec<Fr> = (0..n).map(|i| Fr::from(1 + 7 * i as u64)).collect();
            json!({ "inputs": frs(&xs), "hash": hex(&trustml_poseidon::hash(&xs)) })
        })
        .collect();
    let commit = {
        let xs = [Fr::from(3u64), Fr::from(4u64)];
        json!({ "values": frs(&xs), "salt": "0x00", "commitment": hex(&trustml_poseidon::commit(&xs, Fr::zero())) })
    };
    let compress = json!({
        "domain": "0x01", "a": "0x02", "b": "0x03",
        "out": hex(&trustml_poseidon::compress(Fr::from(1u64), Fr::from(2u64), Fr::from(3u64))),
    });

    // A buyer key derived from a fixed "signature", an order, a delivery to it.
    let signature = [0x5au8; 65];
    let key = key_from_signature(&signature);
    let sk = trustml_kit::field::from_hex(&key.secret).unwrap();
    let pk = Point::generator().mul(&sk);
    let market = [0x42u8; 20];
    let tag = order_tag(31337, market, 1);
    let packing = InputPacking { bits: 8, min: 0 };
    let tokens: Vec<i128> = vec![6 << 4, 11 << 4, 0, 3 << 4, 5 << 4, 1 << 4];
    let words = packing.pack(&tokens).unwrap();
    let r = trustml_babyjubjub::random_scalar(&mut rng);
    let ct = encrypt(&words, &r, &pk, tag).unwrap();
    assert_eq!(decrypt(&ct, &sk, tag).unwrap(), words);
    let shared = ct.r_point.mul(&sk);

    json!({
        "about": "written by prover/tests/browser_vectors.rs; TRUSTML_BLESS=1 rewrites it",
        "field": { "r": "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001" },
        "poseidon": {
            "width": 3, "rate": 2, "fullRounds": 8, "partialRounds": 57, "sbox": 5,
            "roundConstants": params.round_constants.iter().map(|r| frs(r)).collect::<Vec<_>>(),
            "mds": params.mds.iter().map(|r| frs(r)).collect::<Vec<_>>(),
            "spec": "state = [0,0,0]; m = inputs ‖ 1 (‖ 0 if odd); per pair: state[1] += a, state[2] += b, permute; out state[0]. commit(v, s) = hash(v ‖ s); compress(d, a, b) = permute([d, a, b])[0]",
            "hash": poseidon_hash, "commit": commit, "compress": compress,
        },
        "babyjubjub": {
            "a": hex(&trustml_babyjubjub::curve::coeff_a()),
            "d": hex(&trustml_babyjubjub::curve::coeff_d()),
            "subgroupOrder": hex(&trustml_babyjubjub::curve::subgroup_order()),
            "base8": point(&Point::generator()),
        },
        "buyerKey": {
            "message": key_message(31337, market),
            "signature": format!("0x{}", hex::encode(signature)),
            "secret": key.secret, "public": point(&pk),
        },
        "orderTag": { "chainId": 31337, "market": format!("0x{}", hex::encode(market)), "orderId": 1, "tag": hex(&tag) },
        "delivery": {
            "ephemeral": point(&ct.r_point), "shared": point(&shared),
            "keystream0": hex(&keystream(&shared, tag, 0)),
            "ciphertext": frs(&ct.blocks), "plaintext": frs(&words),
        },
        "packing": { "bits": packing.bits, "min": packing.min, "words": frs(&words),
            "values": tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>() },
    })
}

#[test]
fn browser_vectors_are_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/vectors/crypto.json");
    let now = serde_json::to_string_pretty(&vectors()).unwrap() + "\n";
    if std::env::var_os("TRUSTML_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &now).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == now,
        "{} is not what the crates compute now: rerun with TRUSTML_BLESS=1 and update the TypeScript that reads it",
        path.display()
    );
}

#[test]
fn buyer_keys_from_signatures() {
    // Deterministic, distinct per signature, always a valid public key.
    let a = key_from_signature(b"one");
    assert_eq!(a.secret, key_from_signature(b"one").secret);
    assert_ne!(a.secret, key_from_signature(b"two").secret);
    for i in 0..64u8 {
        let k = key_from_signature(&[i; 65]);
        assert!(k.public.point().is_some(), "{i}");
    }
}
