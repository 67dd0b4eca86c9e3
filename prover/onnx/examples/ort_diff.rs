//! Compares trustml's float evaluation of a model with onnxruntime's, tensor by tensor.
//!
//!     python3 prover/scripts/ort_intermediates.py MODEL.onnx INPUT.json -o ort.json
//!     cargo run -p trustml-onnx --example ort_diff -- MODEL.onnx ort.json [TOLERANCE]
//!
//! Prints every compared tensor in graph order and the first that diverges (relative error
//! above TOLERANCE, default 1e-4, or another shape); exits 1 if one does.

use trustml_onnx::diff::{compare, Reference};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: ort_diff MODEL.onnx ORT.json [TOLERANCE]");
        std::process::exit(2);
    }
    let tol: f64 = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1e-4);
    let g = trustml_onnx::load_onnx(std::path::Path::new(&args[0])).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let text = std::fs::read_to_string(&args[1]).unwrap_or_else(|e| {
        eprintln!(
            "cannot read {}: {e} (write it with prover/scripts/ort_intermediates.py)",
            args[1]
        );
        std::process::exit(2)
    });
    let r: Reference = serde_json::from_str(&text).unwrap_or_else(|e| {
        eprintln!("{} is not an ort_intermediates.py file: {e}", args[1]);
        std::process::exit(2)
    });
    let rows = compare(&g, &r).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    for row in &rows {
        println!(
            "{:>10.2e} {:>10.3e} {:>10.3e}  {:<40} {:?}{}",
            row.relative,
            row.max_abs_diff,
            row.abs_max,
            row.name,
            row.shape,
            if row.diverges(tol) {
                "  <- DIVERGES"
            } else {
                ""
            }
        );
    }
    let worst = rows
        .iter()
        .filter(|r| r.relative.is_finite())
        .map(|r| r.relative)
        .fold(0f64, f64::max);
    println!(
        "{} tensors compared, worst relative error {worst:.2e}",
        rows.len()
    );
    if let Some(first) = rows.iter().find(|r| r.diverges(tol)) {
        println!(
            "first divergence: {} (look at the node that writes it)",
            first.name
        );
        let id = g.values.iter().position(|v| v.name == first.name);
        let inputs: Vec<_> = g
            .inputs
            .iter()
            .zip(&r.input)
            .map(|(&i, d)| trustml_onnx::Tensor::new(g.values[i].shape.clone(), d.clone()))
            .collect();
        if let (Some(id), Ok(all)) = (id, trustml_onnx::eval(&g, &inputs)) {
            let ours = &all[id].data;
            let theirs = &r.values[&first.name].values;
            let n = ours.len().min(theirs.len()).min(16);
            println!("  trustml:     {:?}", &ours[..n]);
            println!("  onnxruntime: {:?}", &theirs[..n]);
        }
        std::process::exit(1);
    }
}
