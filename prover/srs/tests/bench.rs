//! Timings (ignored by default):
//! `cargo test -p trustml-srs --test bench -- --ignored --nocapture`

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::io::BufReader;
use std::time::Instant;
use trustml_srs::{generate_insecure, Srs};

#[test]
#[ignore = "a timing benchmark, not a check: run with `--ignored --nocapture`"]
fn timings() {
    let dir = tempfile::tempdir().unwrap();
    let ks: Vec<u32> = std::env::var("SRS_BENCH_KS")
        .map(|s| s.split(',').map(|k| k.parse().unwrap()).collect())
        .unwrap_or_else(|_| vec![15, 17]);
    for k in ks {
        let t = Instant::now();
        let setup = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::seed_from_u64(1));
        let t_setup = t.elapsed();
        let t = Instant::now();
        let srs = generate_insecure(k, Some(1));
        let t_ours = t.elapsed();
        drop(setup);
        let path = dir.path().join("b.srs");
        let t = Instant::now();
        srs.write(&path).unwrap();
        let t_write = t.elapsed();
        let t = Instant::now();
        let back = Srs::read(&path).unwrap();
        let t_read = t.elapsed();
        assert_eq!(back.k(), k);
        let size = std::fs::metadata(&path).unwrap().len();
        let mut times = vec![];
        for fmt in [SerdeFormat::RawBytes, SerdeFormat::Processed] {
            let p = dir.path().join("h.bin");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
            srs.params.write_custom(&mut f, fmt).unwrap();
            drop(f);
            let t = Instant::now();
            let mut r = BufReader::new(std::fs::File::open(&p).unwrap());
            ParamsKZG::<Bn256>::read_custom(&mut r, fmt).unwrap();
            times.push((fmt, t.elapsed(), std::fs::metadata(&p).unwrap().len()));
        }
        println!(
            "k={k}: setup() {t_setup:.2?}, generate_insecure {t_ours:.2?}, write {t_write:.2?}, \
             Srs::read {t_read:.2?} ({size} bytes); halo2 read_custom: {times:?}"
        );
    }
}

#[test]
#[ignore = "a timing benchmark, not a check: run with `--ignored --nocapture`"]
fn ptau_and_downsize_timings() {
    use halo2_proofs::halo2curves::bn256::Fr;
    use halo2_proofs::halo2curves::ff::Field;
    let dir = tempfile::tempdir().unwrap();
    let power = 12;
    let path = dir.path().join("b.ptau");
    let t = Instant::now();
    trustml_srs::write_ptau_for_tests(&path, Fr::random(ChaCha20Rng::seed_from_u64(2)), power)
        .unwrap();
    let t_write = t.elapsed();
    let t = Instant::now();
    let srs = trustml_srs::import_ptau(&path, power).unwrap();
    let t_import = t.elapsed();
    assert_eq!(srs.k(), power);
    println!("ptau power {power}: write_ptau_for_tests {t_write:.2?}, import_ptau(k={power}) {t_import:.2?}");
    let big = generate_insecure(17, Some(3));
    for k in [15, 16] {
        let t = Instant::now();
        let s = big.downsized(k).unwrap();
        println!("downsized(17 -> {k}) {:.2?}", t.elapsed());
        assert_eq!(s.k(), k);
    }
}
