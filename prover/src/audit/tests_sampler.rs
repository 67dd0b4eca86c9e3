//! The sampler alone: public `[seed, j, N, idx, root]`; a leaf and its path are witnesses.

use super::*;
use crate::audit::dataset::{leaf, Tree};
use crate::audit::sample_index;
use crate::chips::arith::ArithConfig;
use crate::chips::bytes::BytesConfig;
use halo2_proofs::circuit::SimpleFloorPlanner;
use halo2_proofs::plonk::{Circuit, Column, ConstraintSystem, Instance};
use trustml_kit::cells::{check_forged_all, free_cells, Forge};
use trustml_kit::mock::{check, Failure};
use trustml_poseidon::{PoseidonConfig, RoundConstants};

#[derive(Clone, Debug)]
struct Sample {
    seed: Fr,
    j: u64,
    n: u64,
    depth: usize,
    leaf: Fr,
    path: Vec<Fr>,
}

#[derive(Clone, Debug)]
struct Config {
    arith: ArithConfig,
    bytes: BytesConfig,
    poseidon: PoseidonConfig,
    instance: Column<Instance>,
}

/// Rows of the public cells; the sampler starts after them.
const PUBLIC_ROWS: usize = 3;

impl Circuit<Fr> for Sample {
    type Config = Config;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Config {
        let adv: Vec<_> = (0..11).map(|_| meta.advice_column()).collect();
        for &c in &adv[..3] {
            meta.enable_equality(c);
        }
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let arith = crate::chips::arith::ArithChip::configure(meta, adv[0], adv[1], adv[2]);
        let bytes = BytesChip::configure(meta, adv[3], adv[4]);
        let rc = meta.fixed_column();
        let poseidon = PoseidonChip::configure_with(
            meta,
            [adv[5], adv[6], adv[7]],
            [adv[8], adv[9], adv[10]],
            RoundConstants::Rows(rc),
            constants,
        );
        Config {
            arith,
            bytes,
            poseidon,
            instance,
        }
    }

    fn synthesize(&self, cfg: Config, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let arith = ArithChip { config: cfg.arith };
        let bytes = BytesChip { config: cfg.bytes };
        let poseidon = PoseidonChip::new(cfg.poseidon);
        let public = layouter.assign_region(
            || "public",
            |mut region| {
                bytes.assign_table(&mut region);
                [self.seed, Fr::from(self.j), Fr::from(self.n)]
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| Ok(region.assign_advice(arith.config.a, i, Value::known(v))))
                    .collect::<Result<Vec<_>, Error>>()
            },
        )?;
        for (i, c) in public.iter().enumerate() {
            layouter.constrain_instance(c.cell(), cfg.instance, i);
        }
        let sampler = SamplerChip::new(&arith, &bytes, &poseidon, PUBLIC_ROWS);
        let (idx, bits) = sampler.sample_index(
            &mut layouter,
            &public[0],
            &public[1],
            &public[2],
            self.depth,
        )?;
        let leaf = sampler.witness(&mut layouter, Value::known(self.leaf))?;
        let path: Vec<Value<Fr>> = self.path.iter().map(|&p| Value::known(p)).collect();
        let root = sampler.merkle_root(&mut layouter, &leaf, &bits, &path)?;
        layouter.constrain_instance(idx.cell(), cfg.instance, 3);
        layouter.constrain_instance(root.cell(), cfg.instance, 4);
        Ok(())
    }
}

const K: u32 = 12;

fn tree(n: u64) -> (Vec<Fr>, Tree) {
    let leaves: Vec<Fr> = (0..n)
        .map(|i| leaf(i, Fr::from(1000 + i), i % 10))
        .collect();
    let t = Tree::new(&leaves).unwrap();
    (leaves, t)
}

/// The honest sample of ordinal `j`, and its public inputs.
fn honest(seed: u64, j: u64, n: u64) -> (Sample, Vec<Fr>) {
    let (leaves, t) = tree(n);
    let seed = Fr::from(seed);
    let idx = sample_index(seed, j, n);
    let s = Sample {
        seed,
        j,
        n,
        depth: t.depth() as usize,
        leaf: leaves[idx as usize],
        path: t.path(idx),
    };
    let inst = vec![seed, Fr::from(j), Fr::from(n), Fr::from(idx), t.root()];
    (s, inst)
}

#[test]
fn the_seed_selects_the_index_and_the_leaf_opens_the_root() {
    for (seed, j, n) in [
        (7, 0, 13),
        (7, 1, 13),
        (99, 5, 13),
        (3, 2, 1),
        (12345, 9, 64),
    ] {
        let (s, inst) = honest(seed, j, n);
        assert_eq!(check(K, &s, vec![inst]), Ok(()), "seed {seed} j {j} n {n}");
    }
}

#[test]
fn another_index_leaf_or_root_is_refused() {
    let (s, inst) = honest(7, 3, 13);
    // Claiming another index.
    let mut bad = inst.clone();
    bad[3] += Fr::one();
    assert!(check(K, &s, vec![bad]).is_err());
    // Another root.
    let mut bad = inst.clone();
    bad[4] += Fr::one();
    assert!(check(K, &s, vec![bad]).is_err());
    // The leaf (and path) of a sample the prover prefers, at another index.
    let (leaves, t) = tree(13);
    let idx = inst[3];
    let other = (0..13u64).find(|&i| Fr::from(i) != idx).unwrap();
    let chosen = Sample {
        leaf: leaves[other as usize],
        path: t.path(other),
        ..s
    };
    assert!(check(K, &chosen, vec![inst]).is_err());
}

/// `h + r` decomposes into bytes too: every byte and prefix of that second decomposition is
/// forged (and all that follows from it recomputed), so only the canonical check can refuse.
#[test]
fn the_non_canonical_decomposition_is_refused() {
    let (seed, j, n) = (Fr::from(5u64), 4u64, 1000u64);
    let h = trustml_poseidon::compress(Fr::from(DOM_IDX), seed, Fr::from(j));
    // h + r as 32 big-endian bytes (< 2^255: no overflow).
    let hb = be_bytes(&h, 32);
    let rb = hex::decode(Fr::MODULUS.trim_start_matches("0x")).unwrap();
    let mut sum = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let t = u16::from(hb[i]) + u16::from(rb[i]) + carry;
        sum[i] = t as u8;
        carry = t >> 8;
    }
    assert_eq!(carry, 0);
    // The index the forged decomposition selects.
    let lo = u64::from_be_bytes(sum[24..].try_into().unwrap());
    let forged_idx = ((lo as u128 * n as u128) >> 64) as u64;
    let honest_idx = sample_index(seed, j, n);
    assert_ne!(
        forged_idx, honest_idx,
        "the second decomposition picks another sample"
    );
    let (leaves, t) = tree(n);
    let s = Sample {
        seed,
        j,
        n,
        depth: t.depth() as usize,
        leaf: leaves[forged_idx as usize],
        path: t.path(forged_idx),
    };
    let inst = vec![
        seed,
        Fr::from(j),
        Fr::from(n),
        Fr::from(forged_idx),
        t.root(),
    ];
    // Layout: rows 0..3 public, row 3 the copy of h, row 4 z_0, rows 5..=36 bytes 1..=32
    // and prefixes z_1..=z_32 (byte column 3, z column 4).
    let mut forges = vec![];
    let mut z = Fr::zero();
    for (k, &b) in sum.iter().enumerate() {
        z = z * Fr::from(256) + Fr::from(u64::from(b));
        let row = PUBLIC_ROWS + 2 + k;
        forges.push(Forge {
            column: 3,
            row,
            value: Fr::from(u64::from(b)),
            propagate: true,
        });
        forges.push(Forge {
            column: 4,
            row,
            value: z,
            propagate: true,
        });
    }
    let fails = check_forged_all(K, &s, vec![inst], &forges).unwrap_err();
    // The slack R3 − 1 − L3 is "negative": its 8-byte decomposition cannot reach it.
    assert_eq!(
        fails.into_iter().collect::<Vec<_>>(),
        vec![Failure::Permutation]
    );
}

#[test]
fn no_free_cells() {
    let (s, inst) = honest(7, 3, 13);
    let r = free_cells(K, &s, vec![inst], 10);
    assert!(
        r.free.is_empty() && r.dead.is_empty(),
        "{:?} {:?}",
        r.free,
        r.dead
    );
}
