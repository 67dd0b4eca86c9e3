//! Text prompts: the character language model in `fixtures/text_lm` (int64 token ids in,
//! a learned embedding read by a table lookup), compiled as a text listing model whose
//! circuit proves that the public completion is the model's greedy decoding of the hidden
//! prompt.

use halo2_proofs::halo2curves::bn256::Fr;
use std::path::{Path, PathBuf};
use trustml::circuit::{Salts, Visibilities};
use trustml::data::{read_samples, InputData};
use trustml::market::listing;
use trustml::model::{CompileOptions, CompiledModel};
use trustml::program::ProgramError;
use trustml::text::{self, TextSpec};
use trustml_kit::mock;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/text_lm")
        .join(rel)
}

#[derive(serde::Deserialize)]
struct Prompts {
    prompt_len: usize,
    prompts: Vec<Prompt>,
}

#[derive(serde::Deserialize)]
struct Prompt {
    prompt: String,
    greedy_completion: String,
}

fn prompts() -> Prompts {
    serde_json::from_str(&std::fs::read_to_string(fixture("prompts.json")).unwrap()).unwrap()
}

/// The text listing model at `scale` bits (`None`: calibration chooses).
fn compile(scale: Option<u32>, dir: &Path) -> CompiledModel {
    let onnx = fixture("text_lm.onnx");
    let vocab = TextSpec::read_vocab(&fixture("vocab.json")).unwrap();
    let spec = TextSpec::for_onnx(&std::fs::read(&onnx).unwrap(), 24, vocab).unwrap();
    let samples = read_samples(&fixture("text_lm.calibration.json")).unwrap();
    CompiledModel::compile(
        &onnx,
        &samples,
        &CompileOptions {
            vis: Visibilities::LISTING,
            listing: true,
            scale_bits: scale,
            text: Some(spec),
            ..Default::default()
        },
        dir,
    )
    .unwrap()
}

fn prompt_input(spec: &TextSpec, text: &str) -> InputData {
    InputData {
        input_data: vec![spec
            .encode(text)
            .unwrap()
            .iter()
            .map(|&i| i as f32)
            .collect()],
        input_shapes: None,
        output_data: None,
    }
}

/// The quantized model's greedy completions against the float model's (onnxruntime's,
/// from the fixture), token by token, at each scale.
#[test]
fn greedy_completions_track_the_float_model() {
    let p = prompts();
    for scale in [6, 7, 8] {
        let dir = tempfile::tempdir().unwrap();
        let m = compile(Some(scale), dir.path());
        let spec = m.settings.text.clone().unwrap();
        assert_eq!(spec.prompt_len, p.prompt_len);
        let (mut same, mut total, mut whole) = (0, 0, 0);
        for q in &p.prompts {
            let ids = spec.encode(&q.prompt).unwrap();
            let tokens = text::complete(&m.program, &spec, &ids).unwrap();
            let ids = spec
                .ids_of(
                    &tokens.iter().map(|&t| t as i128).collect::<Vec<_>>(),
                    scale,
                )
                .unwrap();
            assert_eq!(spec.decode(&ids[..24]).unwrap(), q.prompt);
            let got = spec.decode(&ids[24..]).unwrap();
            // Once a choice differs the rest follows another text: count the agreeing
            // prefix, as a reader would.
            let agree = got
                .chars()
                .zip(q.greedy_completion.chars())
                .take_while(|(a, b)| a == b)
                .count();
            same += agree;
            total += 8;
            whole += usize::from(agree == 8);
        }
        eprintln!(
            "text_lm at scale 2^{scale} (k = {}): greedy completions agree with the float model on {same}/{total} leading tokens, {whole}/{} completions in full",
            m.settings.k,
            p.prompts.len()
        );
        let c = m.settings.calibration.as_ref().unwrap();
        eprintln!(
            "  worst layer {} ({:.1} %), next-token agreement {}/{} on the calibration set",
            c.worst_layer,
            100.0 * c.worst_layer_error,
            c.text_matches,
            c.text_positions
        );
        if scale >= 8 {
            assert!(whole * 2 >= p.prompts.len(), "{whole} completions agree");
            // A masked score (−1e9) must weigh nothing: with a −16 stand-in the first
            // positions' attention was 98 % off.
            assert!(c.worst_layer_error < 0.2, "{c:?}");
        }
    }
}

/// The statement is a greedy decoding: a completion the model would not choose has no
/// witness, and a forged one that is consistent everywhere else fails exactly the check.
#[test]
fn only_the_greedy_completion_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let m = compile(Some(6), dir.path());
    let spec = m.settings.text.clone().unwrap();
    let q = &prompts().prompts[1];
    let ids = spec.encode(&q.prompt).unwrap();
    let honest = text::complete(&m.program, &spec, &ids).unwrap();
    let salts = Salts {
        input: Fr::from(5u64),
        ..Default::default()
    };
    let k = m.settings.k;
    let w = m
        .witness(&prompt_input(&spec, &q.prompt), Path::new("p"), salts)
        .unwrap();
    let c = m.circuit(Some(w.clone()));
    assert!(mock::accepts(k, &c, vec![c.instances().unwrap()]));

    // The whole input with another last token: a clear error, not a proof.
    let mut other = honest.clone();
    let s = m.settings.quant.scale_bits;
    other[31] = if other[31] == 1 << s { 2 << s } else { 1 << s };
    let data = InputData {
        input_data: vec![other.iter().map(|&v| (v >> s) as f32).collect()],
        input_shapes: None,
        output_data: None,
    };
    let e = m.witness(&data, Path::new("p.json"), salts).unwrap_err();
    assert!(
        e.to_string().contains("not the model's greedy completion"),
        "{e}"
    );

    // Forged: every instruction computed on that input; only the check's lookups fail.
    let (wires, failed) = m.program.eval_lenient(&[other]).unwrap();
    assert!(
        matches!(&failed, Some(ProgramError::OutOfRange { node, .. }) if node == "greedy/check"),
        "{failed:?}"
    );
    let forged = m.circuit(Some(trustml::circuit::Witness {
        wires,
        salts,
        seller: w.seller,
    }));
    mock::assert_rejected_by(
        k,
        &forged,
        vec![forged.instances().unwrap()],
        "function or remainder range",
    );
}

/// A prompt id outside the vocabulary (or not an integer) has no embedding row.
#[test]
fn a_token_outside_the_vocabulary_has_no_witness() {
    let dir = tempfile::tempdir().unwrap();
    let m = compile(Some(6), dir.path());
    let mut ids = vec![1.0f32; 24];
    ids[3] = 48.0;
    let data = InputData {
        input_data: vec![ids.clone()],
        input_shapes: None,
        output_data: None,
    };
    let e = m
        .witness(&data, Path::new("p.json"), Salts::default())
        .unwrap_err();
    assert!(e.to_string().contains("not a token id"), "{e}");
    // Forged: token 48 (one past the table) everywhere it is read.
    let s = m.settings.quant.scale_bits;
    let mut tokens = vec![1i64 << s; 32];
    tokens[3] = 48 << s;
    // A fractional id (3 + 2^-s) has no row either.
    let mut frac = tokens.clone();
    frac[3] = (3 << s) + 1;
    let (_, failed) = m.program.eval_lenient(&[frac]).unwrap();
    assert!(
        matches!(&failed, Some(ProgramError::NotAToken { .. })),
        "{failed:?}"
    );
    let (wires, failed) = m.program.eval_lenient(&[tokens]).unwrap();
    assert!(
        matches!(&failed, Some(ProgramError::NotAToken { .. })),
        "{failed:?}"
    );
    let forged = m.circuit(Some(trustml::circuit::Witness {
        wires,
        salts: Salts::default(),
        seller: Fr::zero(),
    }));
    mock::assert_rejected_by(
        m.settings.k,
        &forged,
        vec![forged.instances().unwrap()],
        "function or remainder range",
    );
}

/// A text listing end to end with real keys: the hidden prompt's commitment, the public
/// completion, the seller; the secret opens the commitment to the prompt's ids.
#[test]
fn text_listing_proves_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let m = compile(Some(6), dir.path());
    let spec = m.settings.text.clone().unwrap();
    let srs = trustml_srs::generate_insecure(m.settings.k, Some(11));
    let keys = trustml::proof::setup(&m, &srs, |_| {}).unwrap();
    let prompt = &prompts().prompts[1].prompt;
    let seller = [0x70u8; 20];
    let t = std::time::Instant::now();
    let (l, secret) = listing::prove_listing(
        &m,
        &keys,
        &prompt_input(&spec, prompt),
        Path::new("--text"),
        seller,
    )
    .unwrap();
    eprintln!(
        "text listing (prompt 24, completion 8, k = {}): proved in {:.1} s",
        m.settings.k,
        t.elapsed().as_secs_f64()
    );
    let p = Path::new("listing.json");
    l.check_preview(p).unwrap();
    assert!(trustml::proof::verify(&m, &keys, &l.proof, p).unwrap());
    let completion = listing::completion_text(&l, &spec).unwrap();
    let ids = spec.encode(prompt).unwrap();
    let tokens = text::complete(&m.program, &spec, &ids).unwrap();
    let want: Vec<i128> = tokens[24..].iter().map(|&t| (t >> 6) as i128).collect();
    assert_eq!(completion, spec.decode(&want).unwrap());
    // The secret's blocks are the committed input: the prompt and the completion.
    let (blocks, _, _) = secret.opening(Path::new("secret.json")).unwrap();
    let values = trustml::market::unpack_prompt(&blocks, &m).unwrap();
    let opened: Vec<i128> = values.iter().map(|&v| (v >> 6) as i128).collect();
    assert_eq!(spec.decode(&opened[..24]).unwrap(), *prompt);
    // Another seller's address is another statement.
    let mut other = l.proof.clone();
    other.instances[2] = trustml_kit::field::to_hex(&listing::address_field(&[0x71; 20]));
    assert!(!trustml::proof::verify(&m, &keys, &other, p).unwrap_or(false));
}
