//! MockProver tests of the delivery circuit: honest, other buyer, other order, tampered
//! ciphertext, different prompt; a real proof; the column shape.

use super::delivery_circuit::{DeliveryCircuit, IDX_CT, IDX_ORDER, IDX_PK};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
use rand::rngs::StdRng;
use rand::SeedableRng;
use trustml_babyjubjub::{encrypt, keygen, random_scalar, Fr, Point};

const N: usize = 4;

fn run(c: &impl Circuit<Fr>, k: u32, instance: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(k, c, vec![instance])
        .expect("synthesis")
        .verify()
}

fn honest_delivery(seed: u64) -> DeliveryCircuit {
    let mut rng = StdRng::seed_from_u64(seed);
    let (_, pk) = keygen(&mut rng);
    DeliveryCircuit {
        prompt: trustml_babyjubjub::encode_tokens(&[17, 65535, 0, 4242]),
        salt: trustml_poseidon::random_salt(&mut rng),
        r: random_scalar(&mut rng),
        pk,
        // A full-width field element, as the marketplace's tags are.
        order_tag: crate::market::order_tag(31337, [0x42; 20], 0xdead_beef_cafe),
    }
}

#[test]
fn delivery_honest_accepted_and_decryptable() {
    let mut rng = StdRng::seed_from_u64(99);
    let (sk, pk) = keygen(&mut rng);
    let mut c = honest_delivery(20);
    c.pk = pk;
    let k = DeliveryCircuit::min_k(N);
    assert_eq!(k, 12);
    let inst = c.public_inputs();
    assert_eq!(inst.len(), IDX_CT + N);
    assert_eq!(run(&c, k, inst.clone()), Ok(()));
    // The buyer decrypts the public ciphertext to the committed prompt.
    let ct = trustml_babyjubjub::Ciphertext {
        r_point: Point {
            x: inst[3],
            y: inst[4],
        },
        blocks: inst[IDX_CT..].to_vec(),
    };
    assert_eq!(
        trustml_babyjubjub::decrypt(&ct, &sk, c.order_tag).unwrap(),
        c.prompt
    );
}

#[test]
fn delivery_other_buyer_rejected() {
    let c = honest_delivery(21);
    let k = DeliveryCircuit::min_k(N);
    let (_, other) = keygen(StdRng::seed_from_u64(5));
    let mut inst = c.public_inputs();
    inst[IDX_PK] = other.x;
    inst[IDX_PK + 1] = other.y;
    assert!(run(&c, k, inst).is_err());
    // Honest encryption to another buyer, claimed for this buyer.
    let mut c2 = c.clone();
    c2.pk = other;
    let mut inst = c2.public_inputs();
    inst[IDX_PK] = c.pk.x;
    inst[IDX_PK + 1] = c.pk.y;
    assert!(run(&c2, k, inst).is_err());
}

#[test]
fn delivery_other_order_rejected() {
    let c = honest_delivery(22);
    let k = DeliveryCircuit::min_k(N);
    let mut inst = c.public_inputs();
    inst[IDX_ORDER] += Fr::ONE;
    assert!(run(&c, k, inst).is_err());
}

#[test]
fn delivery_tampered_ciphertext_rejected() {
    let c = honest_delivery(23);
    let k = DeliveryCircuit::min_k(N);
    let mut inst = c.public_inputs();
    inst[IDX_CT + 2] += Fr::ONE;
    assert!(run(&c, k, inst).is_err());
    let mut inst = c.public_inputs();
    inst[3] = Point::generator().x; // R replaced
    inst[4] = Point::generator().y;
    assert!(run(&c, k, inst).is_err());
}

#[test]
fn delivery_different_prompt_rejected() {
    let c = honest_delivery(24);
    let k = DeliveryCircuit::min_k(N);
    let committed = trustml_poseidon::commit(&c.prompt, c.salt);
    // Seller honestly encrypts another prompt but claims the committed one.
    let mut c2 = c.clone();
    c2.prompt[1] = Fr::from(1);
    let ct = encrypt(&c2.prompt, &c2.r, &c2.pk, c2.order_tag).unwrap();
    let inst = DeliveryCircuit::instance(committed, &c.pk, &ct, c.order_tag);
    assert!(run(&c2, k, inst.clone()).is_err());
    // Committed prompt as witness, ciphertext of the other prompt.
    assert!(run(&c, k, inst).is_err());
}

#[test]
fn gate_degrees_at_most_5() {
    let mut cs = ConstraintSystem::<Fr>::default();
    let _ = <DeliveryCircuit as Circuit<Fr>>::configure(&mut cs);
    let max = cs
        .gates()
        .iter()
        .flat_map(|g| g.polynomials().iter().map(|p| p.degree()))
        .max()
        .unwrap();
    assert_eq!(max, 5);
    assert!(cs.degree() <= 5, "{}", cs.degree());
}

/// A real KZG (SHPLONK, Blake2b transcript) proof of the delivery circuit: checks the layout
/// also works outside MockProver (constants columns, absolute rows).
#[test]
fn delivery_real_proof() {
    use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
    use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof};
    use halo2_proofs::poly::commitment::ParamsProver;
    use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
    use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
    use halo2_proofs::poly::kzg::strategy::SingleStrategy;
    use halo2_proofs::transcript::{
        Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
    };

    let c = honest_delivery(30);
    let k = DeliveryCircuit::min_k(N);
    let params = ParamsKZG::<Bn256>::setup(k, StdRng::seed_from_u64(1));
    let vk = keygen_vk(&params, &c).unwrap();
    let pk = keygen_pk(&params, vk.clone(), &c).unwrap();
    let prove_verify = |inst: &[Fr]| {
        let mut tr = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
            &params,
            &pk,
            std::slice::from_ref(&c),
            &[&[inst]],
            StdRng::seed_from_u64(2),
            &mut tr,
        )
        .unwrap();
        let proof = tr.finalize();
        let mut tr = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&proof[..]);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            params.verifier_params(),
            &vk,
            SingleStrategy::new(&params),
            &[&[inst]],
            &mut tr,
        )
        .is_ok()
    };
    let inst = c.public_inputs();
    assert!(prove_verify(&inst));
    let mut bad = inst.clone();
    bad[IDX_CT] += Fr::ONE;
    assert!(!prove_verify(&bad));
}

/// The delivery circuit stays narrow: every column is a commitment the on-chain verifier pays
/// for (~6k gas each) and code it must hold (EIP-170).
#[test]
fn delivery_columns() {
    let mut cs = ConstraintSystem::<Fr>::default();
    let _ = DeliveryCircuit::configure(&mut cs);
    assert_eq!(cs.num_advice_columns(), 6);
    assert_eq!(cs.num_fixed_columns(), 1);
    assert_eq!(cs.num_instance_columns(), 1);
    // c0..c3, the instance and the constants column.
    assert_eq!(cs.permutation().get_columns().len(), 4 + 1 + 1);
}
