//! Circuits set up before a layout change keep their constraint system exactly: a verifying
//! key pins its gates, lookups, columns and the order of its queries (halo2 hashes
//! `vk.pinned()` into the transcript), so a key made earlier, its proofs and its Solidity
//! verifier stay valid only if configuring its stored shape gives the same system.
//!
//! Each case configures a shape as an `img.json` written before the stop-32 fields had it
//! (they are absent: `shared_hash`, `split`, `merged` default to off), or the dense Poseidon
//! chip as the training link uses it, and compares the Keccak-256 of `cs.pinned()` with the
//! value the code before the change (`ca75a9c`) gave.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
use sha3::{Digest, Keccak256};
use trustml::img::{Dims, Edit, ImgCircuit, ImgShape};

/// Keccak-256 of a constraint system's pinned form, hex.
fn pinned(cs: &ConstraintSystem<Fr>) -> String {
    hex::encode(Keccak256::digest(format!("{:?}", cs.pinned())))
}

/// `shape` as read from an `img.json` written before the stop-32 fields.
fn old_style(shape: ImgShape) -> ImgShape {
    let mut v = serde_json::to_value(&shape).unwrap();
    for key in ["shared_hash", "split", "merged"] {
        v.as_object_mut().unwrap().remove(key);
    }
    serde_json::from_value(v).unwrap()
}

fn img(edit: &str, d: (u32, u32), wide: bool, grid_k: Option<(usize, u32)>) -> String {
    let edit = Edit::parse(edit).unwrap();
    let mut s = ImgShape::choose(&edit, Dims::new(d.0, d.1, 3).unwrap(), wide).unwrap();
    if let Some((grid, k)) = grid_k {
        s = ImgShape { grid, k, ..s };
    }
    let mut cs = ConstraintSystem::<Fr>::default();
    let _ = ImgCircuit::configure_with_params(&mut cs, old_style(s));
    pinned(&cs)
}

#[test]
fn circuits_set_up_before_keep_their_constraint_system() {
    let mut dense = ConstraintSystem::<Fr>::default();
    let constants = dense.fixed_column();
    trustml_poseidon::dense::DenseChip::configure(&mut dense, constants, 2);
    let cases = [
        ("dense poseidon, 2 lanes", pinned(&dense)),
        ("narrow blur", img("blur", (5, 4), false, None)),
        (
            "narrow rgb-to-ycbcr",
            img("rgb-to-ycbcr", (5, 4), false, None),
        ),
        (
            "wide grayscale, k = 17",
            img("grayscale", (10, 4), true, Some((10, 17))),
        ),
        ("wide blur, window lanes", img("blur", (12, 5), true, None)),
        ("table brightness", img("brightness", (10, 3), true, None)),
        (
            "fused ycbcr-to-rgb, k = 16",
            img("ycbcr-to-rgb", (10, 4), true, Some((15, 16))),
        ),
        (
            "fused rgb-to-ycbcr, 15 bytes, k = 17",
            img("rgb-to-ycbcr", (10, 4), true, Some((15, 17))),
        ),
    ];
    for (name, got) in &cases {
        println!("PINNED {name}: {got}");
    }
    let expected = [
        "1782db1b5d4223cecbe0abdac9e5617b03a7e1572cfa7006d636c262274747a9",
        "eebcce448689e6482f1efc3964effa4bd57163fcc556611405768c26629fe006",
        "0438a9b2f7db65a5a359da69b3fb4b391fc15e6942a4ccd3ee7de011585add6e",
        "6369365beda80c17b49a29f577cbca89808a86f2c500248bc30daee8c321f3ef",
        "4dc9a06b7169b0b0d7420c21733088cebec1e1153a808a26b2b44688fde18440",
        "fa972df6ceb766d5b15d06b07be79c7212e4bceff7af65f709e3daf97b184290",
        "ba7fc426d8a97a5151a7aeed92cf5d400eb9a57e12d3a48b0ef6104a248dc7a5",
        "06c687b000eed2792368650b3698df687b92a7c94d59ee38b213e28dbdf6e991",
    ];
    for ((name, got), want) in cases.iter().zip(expected) {
        assert_eq!(got, want, "{name}: its constraint system changed");
    }
}
