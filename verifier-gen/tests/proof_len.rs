//! `proof_len` (computed from the circuit's protocol) is the length of real proofs: for the
//! delivery circuit here (the models' are checked in `revm.rs`). The adapter pins this
//! length, so a wrong figure would refuse every valid proof on chain.

use halo2_proofs::halo2curves::bn256::Fr;
use trustml::market::delivery::DeliveryDir;
use trustml::market::delivery_circuit::DeliveryCircuit;

#[test]
fn delivery_proof_len_matches_a_real_proof() {
    for blocks in [1, 6] {
        let tmp = tempfile::tempdir().unwrap();
        let d = DeliveryDir::create(tmp.path(), blocks).unwrap();
        let srs = trustml_srs::generate_insecure(d.settings.k, Some(5));
        d.setup(&srs, |_| {}).unwrap();
        let keys = d.keys(true).unwrap();
        let pk = trustml::market::keygen().public.point().unwrap();
        let circuit = DeliveryCircuit {
            prompt: (0..blocks as u64).map(Fr::from).collect(),
            salt: Fr::from(5),
            r: Fr::from(7),
            pk,
            order_tag: trustml::market::order_tag(31337, [9; 20], 3),
        };
        let instances = circuit.public_inputs();
        let proof = trustml::kit::keys::prove(&keys, circuit, &instances).unwrap();
        let n = instances.len();
        assert_eq!(
            verifier_gen::proof_len(&keys.params, &keys.vk, n),
            proof.len(),
            "{blocks} blocks"
        );
        assert_eq!(
            verifier_gen::gen_verifier(&keys.params, &keys.vk, n).proof_len,
            proof.len()
        );
    }
}
