//! Helpers shared by the server's integration tests: HTTP, Server-Sent Events, SIWE.
#![allow(dead_code)] // each test binary uses its own subset

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trustml::circuit::Visibilities;
use trustml::data::read_samples;
use trustml::model::{CompileOptions, CompiledModel};

/// A Server-Sent Events stream being read.
pub struct SseReader {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl SseReader {
    pub async fn open(url: &str, last_id: &str) -> Self {
        let r = reqwest::Client::new()
            .get(url)
            .header("Last-Event-ID", last_id)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        Self {
            body: Box::pin(r.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next event's (id, name, data), skipping keep-alive comments.
    pub async fn next(&mut self) -> (String, String, Value) {
        use futures_util::StreamExt;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut name, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().into();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().into();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data += v.trim();
                    }
                }
                if !id.is_empty() {
                    return (id, name, serde_json::from_str(&data).unwrap());
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("an event within 10 s")
                .expect("the stream is open")
                .unwrap();
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// Signs in `key` through SIWE (nonce → EIP-4361 message → signature); returns the message,
/// the signature and the login response.
pub async fn sign_in(base: &str, key: &str, domain: &str) -> (String, String, u16, Value) {
    use alloy::signers::{local::PrivateKeySigner, Signer as _};
    let signer: PrivateKeySigner = key.parse().unwrap();
    let (_, n) = get(base, "/api/v1/auth/nonce").await;
    let message = trustml_chain::siwe::message(
        domain,
        signer.address(),
        31337,
        n["nonce"].as_str().unwrap(),
        "Sign in to trustml.",
    );
    let sig = signer.sign_message(message.as_bytes()).await.unwrap();
    let sig = format!("0x{}", hex::encode(sig.as_bytes()));
    let (s, v) = login(base, &message, &sig).await;
    (message, sig, s, v)
}

pub async fn login(base: &str, message: &str, sig: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "message": message, "signature": sig }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

pub async fn get(base: &str, path: &str) -> (u16, Value) {
    let r = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../prover/fixtures/prompt_generator")
}

/// The prompt generator compiled for listings, with keys, under `models/generator`.
pub fn compile_model(models: &Path) {
    let samples = read_samples(&fixtures().join("generator_calibration.json")).unwrap();
    let opts = CompileOptions {
        vis: Visibilities::LISTING,
        listing: true,
        ..Default::default()
    };
    let model = CompiledModel::compile(
        &fixtures().join("generator.onnx"),
        &samples,
        &opts,
        &models.join("generator"),
    )
    .unwrap();
    let srs = trustml_srs::generate_insecure(model.settings.k, Some(11));
    trustml::proof::setup(&model, &srs, |_| {}).unwrap();
    // Its delivery circuit, where the server looks for it (MODEL/delivery).
    let n: usize = model.program.inputs.iter().map(|(_, w)| w.len()).sum();
    let blocks = trustml::packing::InputPacking::of(&model.program).words(n);
    let d =
        trustml::market::delivery::DeliveryDir::create(&models.join("generator/delivery"), blocks)
            .unwrap();
    let srs = trustml_srs::generate_insecure(d.settings.k, Some(12));
    d.setup(&srs, |_| {}).unwrap();
}

/// The text-prompt model compiled for listings under `models/text` (no keys: the model list
/// reads its settings only).
#[allow(dead_code)]
pub fn compile_text_model(models: &Path) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../prover/fixtures/text_lm");
    let onnx = dir.join("text_lm.onnx");
    let vocab = trustml::text::TextSpec::read_vocab(&dir.join("vocab.json")).unwrap();
    let spec =
        trustml::text::TextSpec::for_onnx(&std::fs::read(&onnx).unwrap(), 24, vocab).unwrap();
    let opts = CompileOptions {
        vis: Visibilities::LISTING,
        listing: true,
        scale_bits: Some(8),
        text: Some(spec),
        ..Default::default()
    };
    let samples = read_samples(&dir.join("text_lm.calibration.json")).unwrap();
    CompiledModel::compile(&onnx, &samples, &opts, &models.join("text")).unwrap();
}

pub fn prompt() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("generator.input.json")).unwrap())
        .unwrap()
}
