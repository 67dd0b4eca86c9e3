//! The delivery circuit: "the published ciphertext encrypts, for this buyer and this order,
//! the prompt committed as `C`".
//!
//! # Public instance (one column, this exact order — the Solidity marketplace rebuilds it)
//!
//! ```text
//! [C, PK.x, PK.y, R.x, R.y, order_tag, ct_0, ..., ct_{n-1}]
//! ```
//!
//! # Relation (witness: prompt m_0..m_{n-1}, salt, ephemeral r)
//!
//! ```text
//! C    = trustml_poseidon::commit(m, salt)             = hash(m ‖ [salt])
//! PK   on the curve
//! R    = r·B8,   S = r·PK                             (same 254 bits for both)
//! ct_i = m_i + hash([S.x, S.y, order_tag, i])          for i = 0..n-1
//! ```
//!
//! `order_tag` is any field element: the marketplace supplies its `orderTag(orderId)` =
//! keccak256(abi.encode(chainid, market, orderId)) mod r ([`crate::market::order_tag`]), so a
//! proof is bound to one order of one deployment on one chain.
//!
//! i.e. exactly [`trustml_babyjubjub::encrypt`]. The buyer can therefore decrypt with `S = sk·R`, and gets
//! the committed prompt. Not enforced here (check natively / in the contract): `PK` is a
//! valid key of the buyer (not small order), `R ≠ (0, 1)` (i.e. `r ≢ 0 mod l`), and the
//! token range `m_i < 2^16` (the commitment binds `m` whatever its range).
//!
//! # Layout
//!
//! Six advice columns shared by everything (each column costs a commitment
//! per proof and ~6k gas per on-chain verification; rows are nearly free), one after the other:
//! [`EccChip`] (a scalar row, a point row, two scalar multiplications: 1022 rows), then
//! [`PoseidonChip`] (`n` keystream hashes of 4 inputs and the commitment), then the witnesses
//! and `n` triples of addition rows (`ct_i = ks_i + m_i` by Poseidon's absorb gate). Only
//! `c0..c3` are equality-enabled. Fixed: one constants column and three
//! Poseidon round-constant columns. One instance column.

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use trustml_poseidon::{rows_per_hash, PoseidonChip, PoseidonConfig, RoundConstants};

use trustml_babyjubjub::{keystream, Ciphertext, EccChip, EccConfig, Fr, Point, ROWS_PER_MUL};

/// Most prompt blocks a delivery circuit takes: its constants (about `6n + 13`) must fit in
/// the first rows of its single fixed column, below the Poseidon rows (see `configure`).
pub const MAX_BLOCKS: usize = 128;

/// Public-instance index of the commitment.
pub const IDX_COMMITMENT: usize = 0;
/// Public-instance index of `PK.x` (`PK.y` follows).
pub const IDX_PK: usize = 1;
/// Public-instance index of `R.x` (`R.y` follows).
pub const IDX_R: usize = 3;
/// Public-instance index of the order tag.
pub const IDX_ORDER: usize = 5;
/// Public-instance index of the first ciphertext block.
pub const IDX_CT: usize = 6;

/// Witness of a delivery proof.
#[derive(Clone, Debug)]
pub struct DeliveryCircuit {
    /// Prompt blocks `m_i` (the circuit shape depends on `prompt.len()`).
    pub prompt: Vec<Fr>,
    /// Commitment salt.
    pub salt: Fr,
    /// Ephemeral scalar.
    pub r: Fr,
    /// Buyer public key.
    pub pk: Point,
    /// The order's tag ([`crate::market::order_tag`]): the encryption nonce.
    pub order_tag: Fr,
}

/// Columns of the delivery circuit.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Baby Jubjub chip.
    pub ecc: EccConfig,
    /// Poseidon chip.
    pub poseidon: PoseidonConfig,
    /// The six shared advice columns.
    pub cols: [Column<Advice>; 6],
    /// Public inputs.
    pub instance: Column<Instance>,
}

impl DeliveryCircuit {
    /// Public instance `[C, PK.x, PK.y, R.x, R.y, order_tag, ct_0..]`.
    pub fn instance(commitment: Fr, pk: &Point, ct: &Ciphertext, order_tag: Fr) -> Vec<Fr> {
        let mut v = vec![commitment, pk.x, pk.y, ct.r_point.x, ct.r_point.y];
        v.push(order_tag);
        v.extend_from_slice(&ct.blocks);
        v
    }

    /// The honest public instance of this witness.
    pub fn public_inputs(&self) -> Vec<Fr> {
        let ct = trustml_babyjubjub::encrypt(&self.prompt, &self.r, &self.pk, self.order_tag)
            .expect("valid key and non-zero r");
        Self::instance(
            trustml_poseidon::commit(&self.prompt, self.salt),
            &self.pk,
            &ct,
            self.order_tag,
        )
    }

    /// Rows of the ECC part (scalar row, point row, two multiplications).
    const ECC_ROWS: usize = 2 + 2 * ROWS_PER_MUL;

    /// First row after the hashes (witnesses, then additions).
    fn witness_row(n: usize) -> usize {
        Self::ECC_ROWS + n * rows_per_hash(4) + rows_per_hash(n + 1)
    }

    /// Smallest `k` fitting a prompt of `n` blocks (with 16 rows of margin for blinding).
    pub fn min_k(n: usize) -> u32 {
        let rows = Self::witness_row(n) + 4 * n + 16;
        (rows as f64).log2().ceil() as u32
    }
}

impl Circuit<Fr> for DeliveryCircuit {
    type Config = DeliveryConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        // The shape depends only on `prompt.len()`; witness values are ignored by keygen.
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> DeliveryConfig {
        let cols: [Column<Advice>; 6] = std::array::from_fn(|_| meta.advice_column());
        // One fixed column for everything: the floor planner puts the circuit's constants in
        // its first rows (about 6n + 13 of them, n ≤ `MAX_BLOCKS`: all inside the ECC
        // rows, whose gate never reads that column) and Poseidon's round constants go in the Poseidon rows.
        let constants = meta.fixed_column();
        let ecc = EccChip::configure_with(meta, cols, constants);
        let poseidon = PoseidonChip::configure_with(
            meta,
            [cols[0], cols[1], cols[2]],
            [cols[3], cols[4], cols[5]],
            RoundConstants::Rows(constants),
            constants,
        );
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        DeliveryConfig {
            ecc,
            poseidon,
            cols,
            instance,
        }
    }

    fn synthesize(
        &self,
        cfg: DeliveryConfig,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let n = self.prompt.len();
        if n == 0 || n > MAX_BLOCKS {
            return Err(Error::Synthesis);
        }
        let ecc = EccChip::new(cfg.ecc);
        let poseidon = PoseidonChip::with_start_row(cfg.poseidon, Self::ECC_ROWS);
        let [c0, c1, c2, c3, _, _] = cfg.cols;
        let w = Self::witness_row(n);

        // Witnesses from row w: m_i (c0) and the constants i (c3) on rows w + i; salt (c1) and
        // order id (c2) on row w.
        let (m, salt, order, idx) = layouter.assign_region(
            || "delivery witnesses",
            |mut region| {
                let m: Vec<_> = (0..n)
                    .map(|i| region.assign_advice(c0, w + i, Value::known(self.prompt[i])))
                    .collect();
                let salt = region.assign_advice(c1, w, Value::known(self.salt));
                let order = region.assign_advice(c2, w, Value::known(self.order_tag));
                let mut idx = Vec::with_capacity(n);
                for i in 0..n {
                    let c = region.assign_advice(c3, w + i, Value::known(Fr::from(i as u64)));
                    region.constrain_constant(c.cell(), Fr::from(i as u64))?;
                    idx.push(c);
                }
                Ok((m, salt, order, idx))
            },
        )?;
        layouter.constrain_instance(order.cell(), cfg.instance, IDX_ORDER);

        // R = r·B8, S = r·PK with shared bits.
        let r = ecc.assign_scalar(&mut layouter, Value::known(self.r))?;
        let pk = ecc.assign_point(&mut layouter, Value::known(self.pk))?;
        layouter.constrain_instance(pk.x.cell(), cfg.instance, IDX_PK);
        layouter.constrain_instance(pk.y.cell(), cfg.instance, IDX_PK + 1);
        let big_r = ecc.fixed_base_mul(&mut layouter, &r)?;
        layouter.constrain_instance(big_r.point.x.cell(), cfg.instance, IDX_R);
        layouter.constrain_instance(big_r.point.y.cell(), cfg.instance, IDX_R + 1);
        let s = ecc.variable_base_mul(&mut layouter, &r, &pk, Some(&big_r.bits))?;

        // Commitment.
        let mut committed = m.clone();
        committed.push(salt);
        let c = poseidon.hash(&mut layouter, &committed)?;
        layouter.constrain_instance(c.cell(), cfg.instance, IDX_COMMITMENT);

        // Keystream and ciphertext blocks.
        let mut ks = Vec::with_capacity(n);
        for idx_i in &idx {
            let inputs = [
                s.point.x.clone(),
                s.point.y.clone(),
                order.clone(),
                idx_i.clone(),
            ];
            ks.push(poseidon.hash(&mut layouter, &inputs)?);
        }
        let shared = s.point.value();
        // ct_i = ks_i + m_i through the Poseidon absorb gate (state two rows down = s + (0, h0,
        // h0 of the next row)), on three rows each: no gate of its own, so no selector column.
        let p = cfg.poseidon;
        let ct = layouter.assign_region(
            || "ct = m + ks",
            |mut region| {
                let mut out = Vec::with_capacity(n);
                let zero = Value::known(Fr::zero());
                for i in 0..n {
                    let row = w + n + 3 * i;
                    p.q_absorb.enable(&mut region, row)?;
                    region.assign_advice(p.state[0], row, zero);
                    ks[i].copy_advice(&mut region, p.state[1], row);
                    region.assign_advice(p.state[2], row, zero);
                    m[i].copy_advice(&mut region, p.helpers[0], row);
                    region.assign_advice(p.helpers[0], row + 1, zero);
                    region.assign_advice(p.state[0], row + 2, zero);
                    let c = shared.map(|s| self.prompt[i] + keystream(&s, self.order_tag, i));
                    out.push(region.assign_advice(p.state[1], row + 2, c));
                    region.assign_advice(p.state[2], row + 2, zero);
                }
                Ok(out)
            },
        )?;
        for (i, c) in ct.iter().enumerate() {
            layouter.constrain_instance(c.cell(), cfg.instance, IDX_CT + i);
        }
        Ok(())
    }
}
