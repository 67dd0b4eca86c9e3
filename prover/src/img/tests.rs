//! MockProver tests of the edit circuit: every edit accepted honestly; each constraint shown
//! needed by a forged witness that keeps every other one; tampered public inputs rejected.

use super::circuit::{ImgCircuit, ImgShape, ImgWitness, Prank, TABLE_GRID_BYTES, WIDER_GRID_BYTES};
use super::edit::Edit;
use super::format::{band_salts, Dims, Image};
use halo2_proofs::halo2curves::bn256::Fr;
use rand::{Rng, SeedableRng};
use trustml_kit::mock::{accepts, assert_rejected_by, check};

fn random(d: Dims, seed: u64) -> Image {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    Image::new(d, (0..d.len()).map(|_| rng.gen()).collect()).unwrap()
}

fn circuit(edit: &Edit, img: &Image, params: &str, prank: Prank) -> ImgCircuit {
    let shape = ImgShape::choose(edit, img.dims, false).unwrap();
    let params = edit.parse_params(params).unwrap();
    let out = edit.output(img.dims).unwrap();
    ImgCircuit {
        shape,
        witness: Some(ImgWitness {
            input: img.clone(),
            params,
            salts_in: band_salts(Fr::from(11), img.dims.bands()),
            salts_out: band_salts(Fr::from(12), out.bands()),
            prank,
        }),
    }
}

fn run(c: &ImgCircuit) -> Result<(), std::collections::BTreeSet<trustml_kit::mock::Failure>> {
    check(c.shape.k, c, vec![c.instances().unwrap()])
}

fn rejected_by(c: &ImgCircuit, name: &str) {
    assert_rejected_by(c.shape.k, c, vec![c.instances().unwrap()], name);
}

#[test]
fn every_edit_is_accepted_and_matches_the_reference() {
    let d = Dims::new(7, 5, 3).unwrap();
    let img = random(d, 1);
    for (edit, params) in [
        ("crop:1,1,4,3", ""),
        ("resize:4x3", ""),
        ("resize:10x7", ""),
        ("contrast", "alpha=1.6"),
        ("brightness", "beta=-30"),
        ("white-balance", "gains=1.3,1.0,0.7"),
        ("grayscale", ""),
        ("rgb-to-ycbcr", ""),
        ("ycbcr-to-rgb", ""),
        ("blur", ""),
        ("sharpen", ""),
    ] {
        let edit = Edit::parse(edit).unwrap();
        let c = circuit(&edit, &img, params, Prank::None);
        assert_eq!(run(&c), Ok(()), "{}", edit.name());
        // The output hash is the reference output's.
        let p = edit.parse_params(params).unwrap();
        let reference = edit.apply(&img, &p).unwrap();
        let w = c.witness.as_ref().unwrap();
        assert_eq!(
            c.instances().unwrap()[1],
            reference.commit_with(&w.salts_out).hash,
            "{}",
            edit.name()
        );
    }
}

#[test]
fn gray_images_and_several_bands_are_accepted() {
    // 120×70 RGB: 360 bytes per row, 42 rows per band, two bands in and out; the crop and
    // the resize read across the seam.
    let img = random(Dims::new(120, 70, 3).unwrap(), 2);
    assert_eq!(img.dims.bands(), 2);
    for edit in ["crop:3,30,100,20", "resize:60x35"] {
        let c = circuit(&Edit::parse(edit).unwrap(), &img, "", Prank::None);
        assert_eq!(run(&c), Ok(()), "{edit}");
    }
    let gray = random(Dims::new(9, 6, 1).unwrap(), 3);
    let c = circuit(&Edit::parse("blur").unwrap(), &gray, "", Prank::None);
    assert_eq!(run(&c), Ok(()));
}

/// A pixel at 255 with brightness +200: `q − OFF = 455`, clamped either side of ±1.
fn bright() -> (Edit, Image, &'static str) {
    let mut img = random(Dims::new(4, 3, 3).unwrap(), 4);
    img.data[5] = 255;
    (Edit::Brightness, img, "beta=200")
}

#[test]
fn the_affine_gate_binds_the_quotient() {
    let (e, img, p) = bright();
    rejected_by(&circuit(&e, &img, p, Prank::Quotient(5)), "affine");
}

#[test]
fn the_remainder_stays_below_the_divisor() {
    // d = 1 divides 256: q − 1 with remainder 1 satisfies the gate and the clamp; only
    // 256·r_lo ∈ bytes notices.
    let (e, img, p) = bright();
    let c = circuit(&e, &img, p, Prank::RemainderIsD(5));
    rejected_by(&c, "affine remainder low");
    let fs = run(&c).unwrap_err();
    assert!(fs.iter().all(|f| f.is("affine remainder low")), "{fs:?}");
}

#[test]
fn a_sixteen_bit_remainder_stays_below_two_to_the_sixteen() {
    // Grayscale: d = 2^16, q − 1 with r + 2^16 (r_hi ≥ 256), the output following q − 1.
    let img = random(Dims::new(4, 3, 3).unwrap(), 12);
    let c = circuit(&Edit::Grayscale, &img, "", Prank::RemainderIsD(1));
    let fs = run(&c).unwrap_err();
    assert!(
        fs.iter().all(|f| f.is("affine remainder high")) && !fs.is_empty(),
        "{fs:?}"
    );
}

#[test]
fn a_divisor_that_does_not_divide_256_bounds_the_remainder_from_above() {
    // Box blur (d = 9, never clamped): q − 1 with r + 9 keeps r_lo a byte and the gate.
    let img = random(Dims::new(5, 4, 3).unwrap(), 13);
    let edit = Edit::parse("convolve:1,1,1,1,1,1,1,1,1/9").unwrap();
    let c = circuit(&edit, &img, "", Prank::RemainderIsD(2));
    let fs = run(&c).unwrap_err();
    assert!(
        fs.iter().all(|f| f.is("affine remainder high")) && !fs.is_empty(),
        "{fs:?}"
    );
}

#[test]
fn the_output_is_the_clamped_quotient() {
    // Edits that can clamp keep q and look (q, out) up; the others prove q = out + OFF in
    // the gate itself (out is a byte through its copy in the output grid).
    let img = random(Dims::new(5, 4, 3).unwrap(), 6);
    for (edit, params, by) in [
        ("contrast", "alpha=1.2", "affine clamp"),
        ("sharpen", "", "affine clamp"),
        ("grayscale", "", "affine"),
        ("blur", "", "affine"),
    ] {
        let c = circuit(&Edit::parse(edit).unwrap(), &img, params, Prank::Output(3));
        let fs = run(&c).unwrap_err();
        assert!(
            fs.iter().all(|f| f.is(by)) && !fs.is_empty(),
            "{edit}: {fs:?}"
        );
    }
}

#[test]
fn a_crop_copies_its_pixels() {
    let img = random(Dims::new(6, 6, 3).unwrap(), 7);
    let c = circuit(
        &Edit::parse("crop:2,1,3,3").unwrap(),
        &img,
        "",
        Prank::Output(4),
    );
    rejected_by(&c, "permutation");
}

#[test]
fn image_bytes_are_bytes() {
    // Byte 7 + 256 and byte 8 − 1 keep the word; the rows read 256 and stay consistent.
    let mut img = random(Dims::new(4, 3, 3).unwrap(), 8);
    img.data[8] = 100;
    let c = circuit(&Edit::Brightness, &img, "beta=0", Prank::ByteCarry(7));
    let fs = run(&c).unwrap_err();
    assert!(
        fs.iter().all(|f| f.is("image byte 0")) && !fs.is_empty(),
        "{fs:?}"
    );
}

#[test]
fn wide_image_bytes_are_bytes_two_per_lookup() {
    // The same forgery in a wide circuit with room for the byte-pair table (6 bytes a grid
    // row): bytes 7, 9 and 11 are the second bytes of the row's three pairs, so each pair's
    // lookup alone refuses its forgery.
    let cases = [
        (7, "image bytes 0-1"),
        (9, "image bytes 2-3"),
        (11, "image bytes 4-5"),
    ];
    carries_refused_by_their_pair_alone(&cases, |c| {
        c.shape = ImgShape {
            k: 17,
            ..ImgShape::choose(&c.shape.edit, c.shape.input, true).unwrap()
        };
    });
}

#[test]
fn a_fifteen_byte_grid_checks_seven_pairs_and_one_byte() {
    // 15 bytes a row (stacked images where 10 would need the next k): seven pair lookups
    // and the last byte alone. Row 0 holds bytes 0–14, row 1 bytes 15–29; a carry out of
    // byte 14 (the single), 16 and 28 (second bytes of pairs) is refused by its lookup alone.
    let cases = [
        (14, "image byte 14"),
        (16, "image bytes 0-1"),
        (28, "image bytes 12-13"),
    ];
    carries_refused_by_their_pair_alone(&cases, |c| {
        c.shape = ImgShape {
            k: 17,
            grid: TABLE_GRID_BYTES,
            ..ImgShape::choose(&c.shape.edit, c.shape.input, true).unwrap()
        };
    });
    // A 640×480 blur takes it at k = 17 (the 10-byte grid needs k = 18).
    let d = Dims::new(640, 480, 3).unwrap();
    let s = ImgShape::choose(&Edit::parse("blur").unwrap(), d, true).unwrap();
    assert!(s.k == 17 && s.grid == TABLE_GRID_BYTES && s.window, "{s:?}");
}

/// For each `(j, lookup)` of `cases`: on a 4×3 brightness circuit reshaped by `shape` (a
/// wide grid with the pair table), a byte carry out of byte `j` (the second byte of a pair)
/// is refused by `lookup` and by nothing else; the first case's honest circuit passes.
fn carries_refused_by_their_pair_alone(cases: &[(usize, &str)], shape: impl Fn(&mut ImgCircuit)) {
    let mut img = random(Dims::new(4, 3, 3).unwrap(), 8);
    for &(j, _) in cases {
        img.data[j + 1] = 100;
    }
    for (i, &(j, lookup)) in cases.iter().enumerate() {
        let mut c = circuit(&Edit::Brightness, &img, "beta=0", Prank::ByteCarry(j));
        shape(&mut c);
        assert!(c.shape.pairs());
        let fs = run(&c).unwrap_err();
        assert!(
            fs.iter().all(|f| f.is(lookup)) && !fs.is_empty(),
            "{j}: {fs:?}"
        );
        if i == 0 {
            c.witness.as_mut().unwrap().prank = Prank::None;
            assert_eq!(run(&c), Ok(()));
        }
    }
}

#[test]
fn wider_image_bytes_and_remainders_use_the_pair_table() {
    // The 10-byte grid (five pair lookups): grid row 1 holds bytes 10–19, and a carry out
    // of each pair's second byte is refused by that pair's lookup alone. With the pair
    // table, its low column is the byte table: a remainder of 256 is refused there too.
    let wider = |c: &mut ImgCircuit| {
        c.shape = ImgShape {
            k: 17,
            grid: WIDER_GRID_BYTES,
            ..ImgShape::choose(&c.shape.edit, c.shape.input, true).unwrap()
        };
    };
    let cases = [
        (11, "image bytes 0-1"),
        (13, "image bytes 2-3"),
        (15, "image bytes 4-5"),
        (17, "image bytes 6-7"),
        (19, "image bytes 8-9"),
    ];
    carries_refused_by_their_pair_alone(&cases, wider);
    let (e, img, p) = bright();
    let mut c = circuit(&e, &img, p, Prank::RemainderIsD(5));
    wider(&mut c);
    assert!(c.shape.pairs());
    let fs = run(&c).unwrap_err();
    assert!(
        fs.iter().all(|f| f.is("affine remainder low")) && !fs.is_empty(),
        "{fs:?}"
    );
}

#[test]
fn wide_lanes_check_both_remainder_bytes_in_one_pair_lookup() {
    // Grayscale divides by 2^16, so a lane's remainder is two bytes. With the byte-pair
    // table, lanes set up since `merged` check both in one lookup: q − 1 with r + 2^16 is
    // refused by it, "affine remainder", alone; lanes set up before, by the high byte's.
    let img = random(Dims::new(4, 3, 3).unwrap(), 9);
    for merged in [true, false] {
        let mut c = circuit(&Edit::Grayscale, &img, "", Prank::RemainderIsD(2));
        c.shape = ImgShape {
            k: 17,
            ..ImgShape::choose(&Edit::Grayscale, img.dims, true).unwrap()
        };
        assert!(c.shape.pairs() && !c.shape.fused && c.shape.lanes == 1);
        c.shape.merged = merged;
        let by = if merged {
            "affine remainder"
        } else {
            "affine remainder high"
        };
        refused_by_alone(&c, by);
        c.witness.as_mut().unwrap().prank = Prank::None;
        matches_the_reference(&c, by);
    }
    // Shapes chosen with the table merge; without it (a small k), they cannot.
    let d = Dims::new(640, 480, 3).unwrap();
    let s = ImgShape::choose(&Edit::Grayscale, d, true).unwrap();
    assert!(s.pairs() && s.merged, "{s:?}");
    let s = ImgShape::choose(&Edit::Grayscale, img.dims, true).unwrap();
    assert!(!s.pairs() && !s.merged, "{s:?}");
}

/// A wide `edit` of a 10×3 RGB image (one band of three whole words): the table layout,
/// with a 6-byte grid. Bytes 0, 6, 12, 16 and 26 are 5, 200, 255, 200 and 200.
fn table_circuit(edit: &str, params: &str, prank: Prank) -> ImgCircuit {
    let mut img = random(Dims::new(10, 3, 3).unwrap(), 21);
    img.data[0] = 5;
    img.data[6] = 200;
    img.data[12] = 255;
    img.data[16] = 200;
    img.data[26] = 200;
    let mut c = circuit(&Edit::parse(edit).unwrap(), &img, params, prank);
    c.shape = ImgShape::choose(&c.shape.edit, img.dims, true).unwrap();
    assert!(
        c.shape.table && !c.shape.pairs() && c.shape.grid == 6,
        "{:?}",
        c.shape
    );
    c
}

/// `c` is accepted, and its output commitment is the reference output's.
fn matches_the_reference(c: &ImgCircuit, label: &str) {
    assert_eq!(run(c), Ok(()), "{label}");
    let w = c.witness.as_ref().unwrap();
    let reference = c.shape.edit.apply(&w.input, &w.params).unwrap();
    assert_eq!(
        c.instances().unwrap()[1],
        reference.commit_with(&w.salts_out).hash,
        "{label}"
    );
}

/// The failures of `c`, asserted to be of `name` alone (and some).
fn refused_by_alone(c: &ImgCircuit, name: &str) {
    let fs = run(c).unwrap_err();
    assert!(
        fs.iter().all(|f| f.is(name)) && !fs.is_empty(),
        "{name}: {fs:?}"
    );
}

#[test]
fn pointwise_edits_take_the_table_layout_and_match_the_reference() {
    for (edit, params) in [
        ("contrast", "alpha=1.6"),
        ("brightness", "beta=-30"),
        ("white-balance", "gains=1.3,1.0,0.7"),
    ] {
        matches_the_reference(&table_circuit(edit, params, Prank::None), edit);
    }
    // Not for an edit reading several bytes, a band with a partial word (7×5: 105 bytes),
    // or a narrow circuit.
    let d = Dims::new(10, 3, 3).unwrap();
    assert!(!ImgShape::choose(&Edit::Grayscale, d, true).unwrap().table);
    let odd = Dims::new(7, 5, 3).unwrap();
    assert!(
        !ImgShape::choose(&Edit::Brightness, odd, true)
            .unwrap()
            .table
    );
    assert!(!ImgShape::choose(&Edit::Brightness, d, false).unwrap().table);
}

#[test]
fn a_table_layout_looks_every_byte_pair_up() {
    // An output byte one off (bytes 7, 14, 4 and 11: columns 1, 2, 4 and 5 of the 6-byte
    // grid), and an input byte carried into the next (byte 9 + 256, byte 10 − 1: the same
    // word), are refused by their column's lookup alone.
    for (i, name) in [
        (7, "edit table 1"),
        (14, "edit table 2"),
        (4, "edit table 4"),
        (11, "edit table 5"),
    ] {
        refused_by_alone(
            &table_circuit("brightness", "beta=20", Prank::Output(i)),
            name,
        );
    }
    refused_by_alone(
        &table_circuit("brightness", "beta=20", Prank::ByteCarry(9)),
        "edit table 3",
    );
    // White balance: byte 6 (red, 200) given the green function (200, not 255) is refused
    // by its key.
    refused_by_alone(
        &table_circuit("white-balance", "gains=1.3,1.0,0.7", Prank::Channel(6)),
        "edit table 0",
    );
}

#[test]
fn a_ten_byte_table_grid_keys_each_row_of_a_word_by_its_channels() {
    // 10 bytes a row: a word's rows start at red, green and blue in turn. Bytes 6, 16 and
    // 26 (column 6 of rows 0, 1, 2: red, green, blue; each 200) given the next channel's
    // function (200, 140, 255 instead of 255, 200, 140) are refused by column 6 alone.
    let ten = |p| {
        let mut c = table_circuit("white-balance", "gains=1.3,1.0,0.7", p);
        c.shape.grid = WIDER_GRID_BYTES;
        c
    };
    assert_eq!(run(&ten(Prank::None)), Ok(()));
    for j in [6, 16, 26] {
        refused_by_alone(&ten(Prank::Channel(j)), "edit table 6");
    }
}

#[test]
fn a_table_layout_proves_its_table() {
    // Brightness +200 on byte 255 clamps (455 → 255, and 456 too): a quotient one more
    // breaks the gate alone, and q − 1 with remainder 1 the remainder lookup alone.
    let b = |p| table_circuit("brightness", "beta=200", p);
    refused_by_alone(&b(Prank::Quotient(255)), "affine");
    refused_by_alone(&b(Prank::RemainderIsD(255)), "affine remainder low");
    // Entry 5 (205) forged to 206, byte 0 (5) following it: the clamp lookup alone.
    refused_by_alone(&b(Prank::TableOut(5)), "affine clamp");
    // Entry 5 computed from 6 (206), its constant cell holding 6: the copy alone.
    refused_by_alone(&b(Prank::TableInput(5)), "permutation");
    // White balance: entry 256 + 200 (green 200) is another function's than entry 200.
    let wb = |p| table_circuit("white-balance", "gains=1.3,1.0,0.7", p);
    refused_by_alone(&wb(Prank::TableOut(256 + 200)), "affine clamp");
}

#[test]
fn tampered_public_inputs_are_rejected() {
    let img = random(Dims::new(5, 4, 3).unwrap(), 9);
    let c = circuit(&Edit::Contrast, &img, "alpha=1.5", Prank::None);
    let good = c.instances().unwrap();
    assert!(accepts(c.shape.k, &c, vec![good.clone()]));
    // Another parameter, another input image, a tampered output commitment.
    let mut other_param = good.clone();
    other_param[2] += Fr::one();
    let other_input = circuit(
        &Edit::Contrast,
        &random(img.dims, 10),
        "alpha=1.5",
        Prank::None,
    )
    .instances()
    .unwrap();
    let mut wrong_in = good.clone();
    wrong_in[0] = other_input[0];
    let mut wrong_out = good.clone();
    wrong_out[1] = other_input[1];
    for bad in [other_param, wrong_in, wrong_out] {
        assert!(!accepts(c.shape.k, &c, vec![bad]));
    }
    // An output pixel changed with its commitment recomputed: the circuit refuses it
    // (`the_output_is_the_clamped_quotient`); here the honest circuit against that hash.
    let forged = circuit(&Edit::Contrast, &img, "alpha=1.5", Prank::Output(0))
        .instances()
        .unwrap();
    assert_ne!(forged[1], good[1]);
    let mut wrong_pixel = good;
    wrong_pixel[1] = forged[1];
    assert!(!accepts(c.shape.k, &c, vec![wrong_pixel]));
}

#[test]
fn shapes_grow_lanes_before_rows() {
    let blur = Edit::parse("blur").unwrap();
    let d = Dims::new(64, 64, 3).unwrap();
    let s = ImgShape::choose(&blur, d, false).unwrap();
    assert_eq!((s.k, s.hash_lanes, s.lanes, s.grid), (16, 1, 1, 1));
    let w = ImgShape::choose(&blur, d, true).unwrap();
    assert!(w.k == 13 && w.hash_lanes == 2, "{w:?}");
    // An HD crop to SD: 240 band sponges spread over Poseidon chips at 2^20 rows.
    let hd = ImgShape::choose(
        &Edit::parse("crop:0,0,640,480").unwrap(),
        Dims::new(1280, 720, 3).unwrap(),
        true,
    )
    .unwrap();
    assert!(hd.k <= 20 && hd.hash_lanes <= 12, "{hd:?}");
    // Too large for any shape: the error says what to do.
    let e =
        ImgShape::choose(&Edit::Grayscale, Dims::new(8000, 8000, 3).unwrap(), true).unwrap_err();
    assert!(e.to_string().contains("band proofs"), "{e}");
    let e =
        ImgShape::choose(&Edit::Grayscale, Dims::new(1280, 720, 3).unwrap(), false).unwrap_err();
    assert!(e.to_string().contains("--wide"), "{e}");
}

/// The band strips of `edit` on `img` (wide, each proof at most 2^`max_k` rows), each
/// with its honest witness, and the whole image's band commitments.
fn strips(edit: &Edit, img: &Image, params: &str, max_k: u32) -> (Vec<ImgCircuit>, Vec<Fr>) {
    let params = edit.parse_params(params).unwrap();
    let out = edit.apply(img, &params).unwrap();
    let (sin, sout) = (
        band_salts(Fr::from(21), img.dims.bands()),
        band_salts(Fr::from(22), out.dims.bands()),
    );
    let (cin, cout) = (img.commit_with(&sin), out.commit_with(&sout));
    let parts = ImgShape::parts(edit, img.dims, max_k).unwrap();
    let circuits = parts
        .into_iter()
        .map(|shape| {
            let (ins, outs) = shape.plan().unwrap().bands();
            let r = img.dims.bands_range(ins.clone());
            ImgCircuit {
                shape,
                witness: Some(ImgWitness {
                    input: Image::new(img.dims.strip(ins.clone()), img.data[r].to_vec()).unwrap(),
                    params: params.clone(),
                    salts_in: sin[ins].to_vec(),
                    salts_out: sout[outs].to_vec(),
                    prank: Prank::None,
                }),
            }
        })
        .collect();
    (circuits, [cin.bands, cout.bands].concat())
}

/// The public inputs strip `c` must be checked with: the whole images' `D_in[reads]`,
/// `D_out[bands]` (from `d`, input bands first) and the parameters.
fn strip_instances(c: &ImgCircuit, d: &[Fr], in_bands: usize) -> Vec<Fr> {
    let (ins, outs) = c.shape.plan().unwrap().bands();
    let w = c.witness.as_ref().unwrap();
    d[ins]
        .iter()
        .chain(&d[in_bands + outs.start..in_bands + outs.end])
        .copied()
        .chain(w.params.iter().map(|&p| Fr::from(p)))
        .collect()
}

#[test]
fn band_strips_read_across_their_seams_and_open_the_whole_images_bands() {
    // 200×150 RGB: 25 rows per band, six bands; too many for one proof of 2^14 rows. A
    // blur's output band reads the next input band's first rows; a 1.25× resize's bands
    // read one or two input bands, not aligned. A contrast (the table layout) and an RGB →
    // YCbCr (the fused layout) fit one proof of 2^14 rows: they are shown on twice the
    // height.
    let img = random(Dims::new(200, 150, 3).unwrap(), 9);
    let tall = random(Dims::new(200, 300, 3).unwrap(), 9);
    assert_eq!(img.dims.bands(), 6);
    for (edit, params, img) in [
        ("blur", "", &img),
        ("resize:250x187", "", &img),
        ("contrast", "alpha=1.4", &tall),
        ("rgb-to-ycbcr", "", &tall),
    ] {
        let edit = Edit::parse(edit).unwrap();
        let (cs, d) = strips(&edit, img, params, 14);
        assert!(cs.len() >= 2, "{}: {} strips", edit.name(), cs.len());
        // Seams: an input band read by two strips.
        let mut seams = 0;
        let mut read_up_to = 0;
        for c in &cs {
            // Their bands are whole words: contrast's strips take the table layout, RGB →
            // YCbCr's the fused one.
            assert_eq!(c.shape.table, edit.name() == "contrast");
            assert_eq!(c.shape.fused, edit.name() == "rgb-to-ycbcr");
            let (ins, _) = c.shape.plan().unwrap().bands();
            seams += usize::from(ins.start < read_up_to);
            read_up_to = ins.end;
            // Each strip's own commitments are the whole images' bands: one D_in[k] for
            // every proof that reads band k.
            let own = c.instances().unwrap();
            let want = strip_instances(c, &d, img.dims.bands());
            assert_eq!(own, want, "{} strip {:?}", edit.name(), c.shape.part);
            assert_eq!(run_with(c, want), Ok(()), "{}", edit.name());
        }
        if !same_size(&edit) {
            assert!(seams > 0, "{}: no two strips read one band", edit.name());
        }
    }
}

/// Whether `edit` keeps the image's size (its strips read only their own bands).
fn same_size(edit: &Edit) -> bool {
    edit.table_channels(3).is_some() || edit.per_pixel()
}

fn run_with(
    c: &ImgCircuit,
    instances: Vec<Fr>,
) -> Result<(), std::collections::BTreeSet<trustml_kit::mock::Failure>> {
    check(c.shape.k, c, vec![instances])
}

#[test]
fn a_strip_cannot_read_another_neighbour_band() {
    // The first blur strip reads input band 1 for its last output rows. A prover who blurs
    // against other bytes of band 1 satisfies every gate (the output follows them), but that
    // band's commitment is no longer the D_in[1] of H_in.
    let img = random(Dims::new(200, 150, 3).unwrap(), 10);
    let edit = Edit::parse("blur").unwrap();
    let (cs, d) = strips(&edit, &img, "", 14);
    let mut c = cs.into_iter().next().unwrap();
    let (ins, _) = c.shape.plan().unwrap().bands();
    assert!(ins.len() >= 2, "the first strip reads its neighbour");
    let honest = strip_instances(&c, &d, img.dims.bands());
    let w = c.witness.as_mut().unwrap();
    let seam = img.dims.band(ins.end - 1).start + 7;
    w.input.data[seam] ^= 0x55;
    assert_eq!(check(c.shape.k, &c, vec![c.instances().unwrap()]), Ok(()));
    let fs = check(c.shape.k, &c, vec![honest]).unwrap_err();
    assert!(
        fs.iter()
            .all(|f| matches!(f, trustml_kit::mock::Failure::Permutation)),
        "{fs:?}"
    );
}

#[test]
fn a_wrong_output_byte_at_a_seam_is_rejected() {
    let img = random(Dims::new(200, 150, 3).unwrap(), 11);
    let edit = Edit::parse("blur").unwrap();
    let (cs, _) = strips(&edit, &img, "", 14);
    let mut c = cs.into_iter().next().unwrap();
    // The last output byte of the strip: its rows read the neighbour band.
    let n = c.shape.plan().unwrap().len();
    c.witness.as_mut().unwrap().prank = Prank::Output(n - 1);
    let fs = run(&c).unwrap_err();
    assert!(
        fs.iter().all(|f| f.is("affine") || f.is("affine clamp")),
        "{fs:?}"
    );
}

/// A wide `edit` of a 10×3 RGB image (one band of three whole words): the fused layout, with
/// a 6-byte grid (or `grid` bytes a row, and k = `k`). Pixel 0 is `(255, 0, 255)`, pixel 2
/// `(200, 100, 90)`.
fn fused_circuit(edit: &str, prank: Prank, grid: usize, k: u32) -> ImgCircuit {
    let mut img = random(Dims::new(10, 3, 3).unwrap(), 22);
    img.data[..3].copy_from_slice(&[255, 0, 255]);
    img.data[6..9].copy_from_slice(&[200, 100, 90]);
    let mut c = circuit(&Edit::parse(edit).unwrap(), &img, "", prank);
    c.shape = ImgShape::choose(&c.shape.edit, img.dims, true).unwrap();
    assert!(
        c.shape.fused && !c.shape.pairs() && c.shape.grid == 6 && c.shape.lanes == 0,
        "{:?}",
        c.shape
    );
    c.shape.grid = grid;
    c.shape.k = k;
    c.shape.split = c.shape.split_fits();
    c
}

#[test]
fn colour_conversions_take_the_fused_layout_and_match_the_reference() {
    for edit in ["rgb-to-ycbcr", "ycbcr-to-rgb"] {
        // k = 16: split remainders, and no range lookup in either grid.
        for (grid, k) in [(6, 13), (15, 13), (6, 17), (15, 16)] {
            let c = fused_circuit(edit, Prank::None, grid, k);
            assert_eq!(c.shape.pairs(), k == 17);
            assert_eq!(c.shape.split, k == 16);
            matches_the_reference(&c, &format!("{edit} {grid} {k}"));
        }
    }
    // Not for grayscale (another size), a band with a partial word (7×5: 105 bytes), or a
    // narrow circuit.
    let d = Dims::new(10, 3, 3).unwrap();
    let odd = Dims::new(7, 5, 3).unwrap();
    for (edit, d, wide) in [
        (Edit::Grayscale, d, true),
        (Edit::RgbToYcbcr, odd, true),
        (Edit::RgbToYcbcr, d, false),
    ] {
        let s = ImgShape::choose(&edit, d, wide).unwrap();
        assert!(!s.fused && s.lanes == 1, "{s:?}");
    }
}

#[test]
fn a_fused_layout_proves_every_output_byte_in_its_row() {
    // YCbCr → RGB clamps (pixel 0: R = 255 + 1.402·127 → 255). Byte 0's quotient one more
    // breaks the gate alone; q − 1 with r + 2^16 the high remainder lookup alone (the pair
    // lookup at k = 17); an output byte one off (bytes 0, 7, 8: columns 0, 1, 2) the clamp
    // lookup alone.
    let clamps = |p| fused_circuit("ycbcr-to-rgb", p, 6, 13);
    refused_by_alone(&clamps(Prank::Quotient(0)), "affine");
    refused_by_alone(&clamps(Prank::RemainderIsD(0)), "affine remainder high");
    refused_by_alone(
        &fused_circuit("ycbcr-to-rgb", Prank::RemainderIsD(0), 6, 17),
        "affine remainder",
    );
    for i in [0, 7, 8] {
        refused_by_alone(&clamps(Prank::Output(i)), "affine clamp");
    }
    // Y of pixel 2 carried into Cb (byte 6 + 256, byte 7 − 1: the same word): the input
    // byte's range lookup alone (column 0), the outputs following the forged bytes.
    refused_by_alone(&clamps(Prank::ByteCarry(6)), "image byte 0");
    // RGB → YCbCr never clamps: each output byte is q − OFF, range-checked in its grid. An
    // output byte one off (bytes 7, 11 on the 15-byte grid: columns 7, 11) breaks the gate
    // alone; q − 1 with r + 2^16 (the output following) the high remainder lookup alone.
    let plain = |p| fused_circuit("rgb-to-ycbcr", p, 15, 13);
    for i in [7, 11] {
        refused_by_alone(&plain(Prank::Output(i)), "affine");
    }
    refused_by_alone(&plain(Prank::RemainderIsD(7)), "affine remainder high");
    // Without the byte-pair table the remainder splits into 7-bit parts looked up with the
    // row's bytes (k = 16). Clamped: r + 2^16 (q − 1) leaves the top bit's range, the gate
    // alone; a low part 2^7 over (the high part one less) the input byte's lookup alone;
    // an output byte one off still the clamp alone; an input carry (column 0) the lookup
    // pairing it with a remainder part alone.
    let split = |e, p| fused_circuit(e, p, 15, 16);
    refused_by_alone(&split("ycbcr-to-rgb", Prank::Quotient(0)), "affine");
    refused_by_alone(
        &split("ycbcr-to-rgb", Prank::RemainderIsD(0)),
        "fused remainder top",
    );
    for i in [0, 7] {
        refused_by_alone(
            &split("ycbcr-to-rgb", Prank::RemainderCarry(i, 0)),
            "fused remainder low",
        );
        refused_by_alone(&split("ycbcr-to-rgb", Prank::Output(i)), "affine clamp");
    }
    refused_by_alone(
        &split("ycbcr-to-rgb", Prank::ByteCarry(6)),
        "fused remainder low",
    );
    // The high part 2^8 over (clamped: a byte) or 2^7 over (unclamped: paired with the
    // output byte), the top one less, in a row whose top is not 0: the high lookup alone.
    for (edit, top) in [("ycbcr-to-rgb", 15), ("rgb-to-ycbcr", 14)] {
        let c = split(edit, Prank::None);
        let (plan, w) = (c.shape.plan().unwrap(), c.witness.as_ref().unwrap());
        let i = (0..plan.len())
            .find(|&i| plan.row(i).eval(&w.input.data, &[]).r >> top > 0)
            .expect("a remainder with its top bits");
        refused_by_alone(
            &split(edit, Prank::RemainderCarry(i, 1)),
            "fused remainder high",
        );
    }
    // Unclamped: the same, and a low part 2^7 over the low lookup alone.
    refused_by_alone(
        &split("rgb-to-ycbcr", Prank::RemainderIsD(7)),
        "fused remainder top",
    );
    refused_by_alone(
        &split("rgb-to-ycbcr", Prank::RemainderCarry(11, 0)),
        "fused remainder low",
    );
    refused_by_alone(&split("rgb-to-ycbcr", Prank::Output(7)), "affine");
}

/// A wide `edit` (a convolution) of a 12×5 RGB image: window lanes. Pixel (1, 1) is white
/// and (2, 1) black, so sharpen clamps at output 0 (1020 → 255).
fn window_circuit(edit: &str, prank: Prank) -> ImgCircuit {
    let mut img = random(Dims::new(12, 5, 3).unwrap(), 23);
    img.data[39..42].copy_from_slice(&[255, 255, 255]);
    img.data[42..45].copy_from_slice(&[0, 0, 0]);
    let mut c = circuit(&Edit::parse(edit).unwrap(), &img, "", prank);
    c.shape = ImgShape::choose(&c.shape.edit, img.dims, true).unwrap();
    assert!(c.shape.window && c.shape.lanes >= 1, "{:?}", c.shape);
    c
}

#[test]
fn wide_convolutions_take_window_lanes_and_match_the_reference() {
    // Blur (9 taps), sharpen (5, clamped), and a kernel with zero rows (one column in use).
    for (edit, lanes) in [
        ("blur", 1),
        ("sharpen", 1),
        ("convolve:0,0,0,1,2,1,0,0,0/4", 1),
        ("blur", 3),
        ("sharpen", 2),
    ] {
        let mut c = window_circuit(edit, Prank::None);
        // Sequences dealt to several lanes in turn.
        c.shape.lanes = lanes;
        matches_the_reference(&c, &format!("{edit} {lanes}"));
    }
    // Narrow circuits keep a tap column per tap.
    let d = Dims::new(12, 5, 3).unwrap();
    assert!(
        !ImgShape::choose(&Edit::parse("blur").unwrap(), d, false)
            .unwrap()
            .window
    );
}

#[test]
fn a_window_lane_proves_each_output_from_its_copied_columns() {
    // Blur never clamps (its output is q − OFF): an output byte one off (bytes 0, 4 and 29:
    // sequences 0, 1 and 2) breaks the gate alone; q − 1 with r + 16 the remainder lookup
    // (16·r ∈ bytes) alone.
    for i in [0, 4, 29] {
        refused_by_alone(&window_circuit("blur", Prank::Output(i)), "affine");
    }
    refused_by_alone(
        &window_circuit("blur", Prank::RemainderIsD(3)),
        "affine remainder low",
    );
    // Sharpen's output 0 clamps: a quotient one more breaks the gate alone, the output one
    // off the clamp lookup alone.
    refused_by_alone(&window_circuit("sharpen", Prank::Quotient(0)), "affine");
    refused_by_alone(&window_circuit("sharpen", Prank::Output(0)), "affine clamp");
    // An input column's byte that is not the grid's (+1, the outputs following): the copy
    // alone — at a sequence's first columns (read at rotation −2, −1) and its last.
    for j in [0, 1, 5, 11] {
        refused_by_alone(&window_circuit("blur", Prank::WindowByte(j)), "permutation");
    }
}
