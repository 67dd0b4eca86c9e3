//! Insecure development SRS generation.
//!
//! The SRS is built from a random τ that the generating process knows. Whoever knows τ
//! can forge KZG openings, hence halo2 proofs, for any statement. Use only for development.

use crate::{Provenance, Srs, MAX_K};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1};
use halo2curves::ff::{BatchInvert, Field, PrimeField};
use halo2curves::group::{prime::PrimeCurveAffine, Curve, Group};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

/// Warning attached to every SRS produced by [`generate_insecure`].
pub const INSECURE_WARNING: &str = "INSECURE SRS: this KZG setup was generated locally from a \
random secret tau that the generating process knew (and, if a seed was given, anyone with the \
seed can recompute). Whoever knows tau can forge proofs for false statements that every \
verifier using this SRS will accept. Use it for development and testing ONLY; for anything \
that matters import a public ceremony file with `import_ptau`.";

/// Points per rayon task when computing point vectors.
const CHUNK: usize = 1 << 10;

/// Fixed-base multiplication table for one base point: `table[j*256 + b] = b · 256^j · P`.
///
/// A scalar multiplication is then at most 32 mixed additions (one per scalar byte)
/// instead of ~256 doublings + ~128 additions of a variable-base multiplication.
pub(crate) struct FixedBaseTable {
    table: Vec<G1Affine>,
}

impl FixedBaseTable {
    pub(crate) fn new(base: G1) -> Self {
        let mut proj = Vec::with_capacity(32 * 256);
        let mut window_base = base;
        for _ in 0..32 {
            let mut acc = G1::identity();
            for _ in 0..256 {
                proj.push(acc);
                acc += window_base;
            }
            // acc = 256 · window_base
            window_base = acc;
        }
        let mut table = vec![G1Affine::identity(); proj.len()];
        G1::batch_normalize(&proj, &mut table);
        FixedBaseTable { table }
    }

    pub(crate) fn mul(&self, scalar: &Fr) -> G1 {
        let repr = scalar.to_repr(); // canonical little-endian
        let mut acc = G1::identity();
        for (j, &byte) in repr.as_ref().iter().enumerate() {
            if byte != 0 {
                acc += self.table[j * 256 + byte as usize];
            }
        }
        acc
    }

    /// `[s_0·P, s_1·P, ...]` for scalars produced chunk-wise by `scalars(start, len)`.
    fn mul_many(
        &self,
        n: usize,
        scalars: impl Fn(usize, usize) -> Vec<Fr> + Sync,
    ) -> Vec<G1Affine> {
        let mut out = vec![G1Affine::identity(); n];
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(ci, chunk)| {
                let s = scalars(ci * CHUNK, chunk.len());
                let proj: Vec<G1> = s.iter().map(|s| self.mul(s)).collect();
                G1::batch_normalize(&proj, chunk);
            });
        out
    }
}

/// `[τ^0·G1, ..., τ^(count-1)·G1]`.
pub(crate) fn powers_of_tau_g1(tau: Fr, count: usize) -> Vec<G1Affine> {
    let table = FixedBaseTable::new(G1::generator());
    table.mul_many(count, |start, len| {
        let mut s = tau.pow_vartime([start as u64]);
        (0..len)
            .map(|_| {
                let cur = s;
                s *= tau;
                cur
            })
            .collect()
    })
}

/// Primitive 2^k-th root of unity of Fr.
fn omega(k: u32) -> Fr {
    let mut w = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        w = w.square();
    }
    w
}

/// Builds `ParamsKZG` for a known τ: g = τ^i·G1, g_lagrange = L_i(τ)·G1, g2, s_g2 = τ·G2.
///
/// Returns `None` if τ is a 2^k-th root of unity (Lagrange basis undefined at τ).
pub(crate) fn params_from_tau(k: u32, tau: Fr) -> Option<ParamsKZG<Bn256>> {
    assert!(k <= MAX_K, "k = {k} exceeds the maximum {MAX_K}");
    let n = 1usize << k;
    let tau_n = tau.pow_vartime([n as u64]);
    if tau_n == Fr::ONE {
        return None;
    }
    let table = FixedBaseTable::new(G1::generator());
    let g = table.mul_many(n, |start, len| {
        let mut s = tau.pow_vartime([start as u64]);
        (0..len)
            .map(|_| {
                let cur = s;
                s *= tau;
                cur
            })
            .collect()
    });
    // L_i(τ) = (τ^n - 1)/n · ω^i / (τ - ω^i)
    let w = omega(k);
    let n_inv = Fr::from(n as u64).invert().unwrap();
    let multiplier = (tau_n - Fr::ONE) * n_inv;
    let g_lagrange = table.mul_many(n, |start, len| {
        let mut wi = w.pow_vartime([start as u64]);
        let mut roots = Vec::with_capacity(len);
        let mut denoms = Vec::with_capacity(len);
        for _ in 0..len {
            roots.push(wi);
            denoms.push(tau - wi);
            wi *= w;
        }
        denoms.iter_mut().batch_invert();
        roots
            .iter()
            .zip(&denoms)
            .map(|(r, d)| multiplier * r * d)
            .collect()
    });
    let g2 = G2Affine::generator();
    let s_g2 = (g2 * tau).to_affine();
    Some(params_from_parts(k, g, Some(g_lagrange), g2, s_g2))
}

/// `ParamsKZG::from_parts` is a method; it needs some instance to be called on.
pub(crate) fn params_from_parts(
    k: u32,
    g: Vec<G1Affine>,
    g_lagrange: Option<Vec<G1Affine>>,
    g2: G2Affine,
    s_g2: G2Affine,
) -> ParamsKZG<Bn256> {
    // k = 0 setup costs two scalar multiplications; its content is discarded.
    let dummy = ParamsKZG::<Bn256>::setup(0, ChaCha20Rng::seed_from_u64(0));
    dummy.from_parts(k, g, g_lagrange, g2, s_g2)
}

/// Generates an INSECURE development SRS with 2^k points.
///
/// τ is drawn from a ChaCha20 RNG seeded with `seed` (deterministic, and anyone with the seed
/// can recompute τ) or with OS entropy when `seed` is `None` (τ is dropped after use, but this
/// process knew it). For the same seed the result is identical to
/// `ParamsKZG::setup(k, ChaCha20Rng::seed_from_u64(seed))`, computed faster with a fixed-base
/// table. See [`INSECURE_WARNING`].
///
/// # Panics
/// If `k > 28` (the largest power-of-two FFT domain of BN254's scalar field).
pub fn generate_insecure(k: u32, seed: Option<u64>) -> Srs {
    assert!(
        k <= MAX_K,
        "generate_insecure: k = {k} is too large, BN254 supports at most k = {MAX_K}"
    );
    let mut rng = match seed {
        Some(s) => ChaCha20Rng::seed_from_u64(s),
        None => ChaCha20Rng::from_entropy(),
    };
    let params = loop {
        let tau = Fr::random(&mut rng);
        if let Some(p) = params_from_tau(k, tau) {
            break p;
        }
    };
    Srs {
        params,
        provenance: Provenance::InsecureDev { seed_hint: seed },
    }
}
