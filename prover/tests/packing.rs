//! A hashed input is committed packed (`trustml::packing`): what binds each value to its
//! word is the program's range check. A carry moved between two neighbours (`u_0 + 2^B`,
//! `u_1 − 1`) gives the same word, hence the same commitment; the model then runs on other
//! values than the committed ones. With the range check the forged witness fails exactly the
//! lookup; without it, the same witness is accepted under the honest commitment.

use halo2_proofs::halo2curves::bn256::Fr;
use std::sync::Arc;
use trustml::circuit::{CircuitShape, ModelCircuit, Salts, Visibilities, Visibility, Witness};
use trustml::packing::InputPacking;
use trustml::program::{Instr, Program, WRef};
use trustml::quant::{rescale, QuantParams};
use trustml::table::FuncSet;
use trustml_kit::mock::{check, Failure};

const S: u32 = 4;

/// o = x0 + x1 (one fixed weight 1), input hashed; with or without its range checks.
fn program(range_checked: bool) -> Program {
    let mut p = Program {
        qp: QuantParams {
            scale_bits: S,
            lookup_bits: 8,
        },
        funcs: FuncSet {
            bits: vec![3],
            ..FuncSet::default()
        },
        num_wires: 5,
        inputs: vec![(vec![2], vec![2, 3])],
        outputs: vec![(vec![1], vec![4])],
        weights: vec![1],
        instrs: vec![Instr::Dot {
            terms: vec![(2, WRef::Param(0)), (3, WRef::Param(0))],
            out: 4,
        }],
        node_names: vec!["sum".into(), "model input".into()],
    };
    if range_checked {
        p.range_check_inputs();
    }
    p
}

fn circuit(p: Program, x: [i128; 2]) -> ModelCircuit {
    let mut wires = vec![1, 0, x[0], x[1], x[0] + x[1]];
    // The range checks' quotients (wires 5, 6), as the lanes compute them.
    for &v in &x[..(p.num_wires as usize - 5)] {
        wires.push(rescale(v, S).0);
    }
    let shape = CircuitShape {
        dot_width: 4,
        lanes: 1,
        scale_bits: S,
        vis: Visibilities {
            input: Visibility::Hashed,
            weights: Visibility::Fixed,
            output: Visibility::Private,
        },
        act_dot: false,
        arith: true,
        div: false,
        listing: false,
    };
    ModelCircuit::new(
        shape,
        Arc::new(p),
        Some(Arc::new(Witness {
            wires,
            salts: Salts {
                input: Fr::from(77),
                ..Salts::default()
            },
            seller: Fr::zero(),
        })),
    )
}

#[test]
fn the_range_check_binds_each_packed_value() {
    let checked = program(true);
    let packing = InputPacking::of(&checked);
    assert_eq!((packing.bits, packing.min), (S + 3, -4 * 16 - 8));
    let honest = [-20i128, 35];
    let c = packing.commit(&honest, Fr::from(77)).unwrap();
    let k = 9;

    let ok = circuit(checked.clone(), honest);
    assert_eq!(ok.instances().unwrap(), vec![c]);
    assert_eq!(check(k, &ok, vec![vec![c]]), Ok(()));

    // The carry: same word, other values.
    let forged = [honest[0] + (1 << packing.bits), honest[1] - 1];
    assert!(packing.pack(&forged).is_err(), "outside the checked range");
    let words = |x: [i128; 2]| {
        let u = |v: i128| Fr::from((v - packing.min as i128) as u64);
        u(x[0]) + u(x[1]) * Fr::from(1u64 << packing.bits)
    };
    assert_eq!(words(forged), words(honest), "the same packed word");

    let fails = check(k, &circuit(checked, forged), vec![vec![c]]).unwrap_err();
    assert!(
        !fails.is_empty() && fails.iter().all(|f| matches!(f, Failure::Lookup { .. })),
        "only the range check's lookup refuses: {fails:?}"
    );
    assert_eq!(
        check(k, &circuit(program(false), forged), vec![vec![c]]),
        Ok(()),
        "without the range check the forged values open the honest commitment"
    );
}
