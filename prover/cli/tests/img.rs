//! zk-img end to end through the CLI: commit a salted photo, prove a chain of two edits
//! (crop, then contrast; the final image revealed), check it, refuse a broken chain, a
//! wrong output image and bad input with clear errors; then on a local Anvil with the real
//! generated verifiers: a camera signs the capture, both edits are recorded, and the final
//! image walks back to the camera.
//!
//! The chain part is skipped, with a note, only when node_modules is absent (CI runs
//! `npm ci` first).

mod common;
use common::{fails, ok, repo_root};
use std::path::Path;
use trustml::img::{Dims, Image};
use trustml_chain::anvil::Anvil;

/// A camera key (not an Anvil account).
const CAMERA_KEY: &str = "0x8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63";

fn photo(path: &Path) {
    photo_of(path, 24, 16);
}

fn photo_of(path: &Path, w: u32, h: u32) {
    let d = Dims::new(w, h, 3).unwrap();
    let data = (0..d.len())
        .map(|i| ((i * 37 + i / (3 * w as usize) * 11) % 256) as u8)
        .collect();
    Image::new(d, data).unwrap().write_png(path).unwrap();
}

#[test]
fn edits_chain_and_provenance() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    photo(Path::new(&p("photo.png")));
    let out = ok(&["img", "commit", &p("photo.png"), "--salted"]);
    assert!(out.contains("H = 0x"), "{out}");
    assert!(Path::new(&p("photo.png.secret.json")).exists());

    ok(&["srs", "gen", "--k", "13", "-o", &p("srs.bin")]);
    ok(&[
        "img",
        "setup",
        "crop:4,2,16,12",
        "--size",
        "24x16",
        "--srs",
        &p("srs.bin"),
        "-o",
        &p("crop"),
    ]);
    ok(&[
        "img",
        "setup",
        "contrast",
        "--size",
        "16x12",
        "--srs",
        &p("srs.bin"),
        "-o",
        &p("contrast"),
    ]);

    std::fs::write(
        p("chain.json"),
        serde_json::json!({
            "input": "photo.png",
            "steps": [
                {"dir": "crop", "proof": "1-crop.proof.json"},
                {"dir": "contrast", "params": "alpha=1.5", "proof": "2-contrast.proof.json"}
            ],
            "output": "final.png",
            "reveal": true
        })
        .to_string(),
    )
    .unwrap();
    let out = ok(&["img", "chain", &p("chain.json")]);
    assert!(out.contains("chain of 2 edits checked"), "{out}");
    assert!(out.contains("contrast alpha=1.5"), "{out}");
    let out = ok(&["img", "chain", &p("chain.json"), "--check"]);
    assert!(out.contains("final image"), "{out}");
    // The final image is public: its hash is recomputed from its pixels alone.
    let fin = Image::read(Path::new(&p("final.png"))).unwrap();
    assert_eq!(fin.dims, Dims::new(16, 12, 3).unwrap());
    let out = ok(&[
        "img",
        "verify",
        &p("contrast"),
        &p("2-contrast.proof.json"),
        "--output",
        &p("final.png"),
    ]);
    assert!(out.contains("valid: contrast"), "{out}");

    // A wrong output image, a chain whose steps do not link, bad input.
    fails(
        &[
            "img",
            "verify",
            &p("crop"),
            &p("1-crop.proof.json"),
            "--output",
            &p("final.png"),
        ],
        "is not the proof's output image",
    );
    std::fs::write(
        p("broken.json"),
        serde_json::json!({
            "input": "photo.png",
            "steps": [
                {"dir": "contrast", "params": "alpha=1.5", "proof": "2-contrast.proof.json"},
                {"dir": "crop", "proof": "1-crop.proof.json"}
            ],
            "output": "final.png"
        })
        .to_string(),
    )
    .unwrap();
    fails(
        &["img", "chain", &p("broken.json"), "--check"],
        "the chain is broken",
    );
    std::fs::write(p("not.png"), "hello").unwrap();
    fails(&["img", "commit", &p("not.png")], "not a PNG or JPEG");
    fails(
        &[
            "img",
            "prove",
            &p("crop"),
            &p("final.png"),
            "-o",
            &p("x.png"),
        ],
        "set up a directory for this size",
    );
    fails(
        &[
            "img",
            "setup",
            "crop:20,0,8,8",
            "--size",
            "24x16",
            "--srs",
            &p("srs.bin"),
            "-o",
            &p("bad"),
        ],
        "not inside",
    );
    fails(
        &[
            "img",
            "prove",
            &p("contrast"),
            &p("final.png"),
            "--params",
            "alpha=9",
            "-o",
            &p("x.png"),
        ],
        "between 0 and 4",
    );

    let Some(node) = Anvil::for_test(&repo_root()) else {
        return;
    };
    let url = node.url.clone();
    let prov = p("provenance.json");
    let on_chain = |args: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.extend([
            "--rpc-url".into(),
            url.clone(),
            "--provenance".into(),
            prov.clone(),
        ]);
        a
    };
    let chain = |args: &[&str]| {
        let a = on_chain(args);
        ok(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let chain_fails = |args: &[&str], what: &str| {
        let a = on_chain(args);
        fails(&a.iter().map(String::as_str).collect::<Vec<_>>(), what)
    };
    chain(&["img", "deploy"]);
    chain(&["img", "register-edit", &p("crop")]);
    chain(&["img", "register-edit", &p("contrast")]);
    let out = ok(&[
        "img",
        "sign-capture",
        &p("photo.png"),
        "--camera-key",
        CAMERA_KEY,
    ]);
    let camera = out
        .split_whitespace()
        .skip_while(|w| *w != "camera")
        .nth(1)
        .unwrap()
        .to_string();
    // Not yet a camera: refused on chain.
    chain_fails(&["img", "submit-capture", &p("photo.png")], "NotACamera");
    chain(&["img", "register-camera", &camera]);
    chain(&["img", "submit-capture", &p("photo.png")]);
    let out = chain(&["img", "submit-chain", &p("chain.json")]);
    assert_eq!(out.matches("recorded:").count(), 2, "{out}");
    let out = chain(&["img", "submit-chain", &p("chain.json")]);
    assert_eq!(out.matches("skipped").count(), 2, "{out}");
    let out = chain(&["img", "provenance", &p("final.png")]);
    assert!(out.contains("2 edits"), "{out}");
    assert!(out.contains(&camera), "{out}");
    assert!(out.contains("contrast of a 16×12×3 image"), "{out}");
    assert!(out.contains("signed capture"), "{out}");

    // One more edit of the published image links to it; an edit of an image nobody
    // recorded is refused on chain.
    ok(&[
        "img",
        "prove",
        &p("contrast"),
        &p("final.png"),
        "--params",
        "alpha=2",
        "-o",
        &p("more.png"),
        "--reveal",
    ]);
    let out = chain(&["img", "submit", &p("contrast"), &p("more.png.proof.json")]);
    assert!(out.contains("recorded:"), "{out}");
    let out = chain(&["img", "provenance", &p("more.png")]);
    assert!(out.contains("3 edits"), "{out}");
    let mut loose = Image::read(Path::new(&p("final.png"))).unwrap();
    loose.data[0] ^= 1;
    loose.write_png(Path::new(&p("loose.png"))).unwrap();
    ok(&[
        "img",
        "prove",
        &p("contrast"),
        &p("loose.png"),
        "--params",
        "alpha=1",
        "-o",
        &p("loose2.png"),
        "--reveal",
    ]);
    chain_fails(
        &["img", "submit", &p("contrast"), &p("loose2.png.proof.json")],
        "UnknownImage",
    );
}

/// An image too large for one proof of the given k is proven in strips of bands: each
/// strip's proof opens the band commitments it reads (a blur reads across each seam), and
/// the verifier recomputes both image hashes from the bands. A tampered band commitment or
/// strip proof is refused; band proofs are not sent on chain.
#[test]
fn band_proofs_of_a_large_image() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    // 200×150: six bands of 25 rows, more than one wide proof of 2^15 rows holds.
    photo_of(Path::new(&p("big.png")), 200, 150);
    ok(&["img", "commit", &p("big.png"), "--salted"]);
    ok(&["srs", "gen", "--k", "14", "-o", &p("srs.bin")]);
    let out = ok(&[
        "img",
        "setup",
        "blur",
        "--size",
        "200x150",
        "--wide",
        "--band-k",
        "14",
        "--srs",
        &p("srs.bin"),
        "-o",
        &p("blur"),
    ]);
    assert!(out.contains("band proofs"), "{out}");
    let out = ok(&[
        "img",
        "prove",
        &p("blur"),
        &p("big.png"),
        "-o",
        &p("soft.png"),
    ]);
    assert!(out.contains("H_out"), "{out}");
    let proof = p("soft.png.proof.json");
    let out = ok(&[
        "img",
        "verify",
        &p("blur"),
        &proof,
        "--input",
        &p("big.png"),
        "--output",
        &p("soft.png"),
    ]);
    assert!(out.contains("valid: blur"), "{out}");

    // Another D_in[1]: the strips that read band 1 no longer verify.
    let text = std::fs::read_to_string(&proof).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let d0 = v["input_bands"][0].clone();
    v["input_bands"][1] = d0;
    std::fs::write(p("forged.json"), v.to_string()).unwrap();
    fails(&["img", "verify", &p("blur"), &p("forged.json")], "INVALID");
    // A strip's proof tampered.
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let pr = v["bands"][1]["proof"].as_str().unwrap().to_string();
    let flipped = if &pr[10..11] == "0" { "1" } else { "0" };
    v["bands"][1]["proof"] = format!("{}{flipped}{}", &pr[..10], &pr[11..]).into();
    std::fs::write(p("forged.json"), v.to_string()).unwrap();
    fails(&["img", "verify", &p("blur"), &p("forged.json")], "INVALID");
    // Two strips' proofs swapped: each is valid, but not for the other strip's inputs (the
    // strips are checked together, in one folded pairing check per thread).
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (a, b) = (
        v["bands"][0]["proof"].clone(),
        v["bands"][1]["proof"].clone(),
    );
    (v["bands"][0]["proof"], v["bands"][1]["proof"]) = (b, a);
    std::fs::write(p("forged.json"), v.to_string()).unwrap();
    fails(&["img", "verify", &p("blur"), &p("forged.json")], "INVALID");
    // The single-proof keys are not there: generic verification explains.
    fails(&["verify", &p("blur"), &proof], "band proofs");
}
