//! linear-equations: solves A·x = b for a random n×n system (LU with partial
//! pivoting, nalgebra) and answers the residual ‖A·x − b‖₂. A (row-major)
//! then b are SplitMix64 next_f64()·2 − 1 of the seed; x itself comes back
//! for n ≤ 16, so a client can check the residual on its own copy of A, b.
//! Request: {"n": 128, "seed": 42}
use nalgebra::{DMatrix, DVector};
use study::{get_seed, get_u64, json, Error, Map, Result, SplitMix64, Value};

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let n = get_u64(req, "n", 128, 1, 2048)? as usize;
    let seed = get_seed(req)?;
    let mut rng = SplitMix64::new(seed);
    let a: Vec<f64> = (0..n * n).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
    let b: Vec<f64> = (0..n).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
    let am = DMatrix::from_row_slice(n, n, &a);
    let bv = DVector::from_column_slice(&b);
    let x = am
        .clone()
        .lu()
        .solve(&bv)
        .ok_or_else(|| Error { status: 422, message: "the system is singular".into() })?;

    // The residual from the inputs, not from nalgebra's factors.
    let mut r2 = 0.0f64;
    for i in 0..n {
        let mut s = -b[i];
        for j in 0..n {
            s += a[i * n + j] * x[j];
        }
        r2 += s * s;
    }
    let mut out = json!({
        "function": "linear-equations",
        "n": n,
        "seed": seed,
        "residual": r2.sqrt(),
        "x_norm": x.norm(),
    });
    if n <= 16 {
        out["x"] = json!(x.iter().collect::<Vec<_>>());
    }
    Ok(out)
}

fn main() {
    study::main(handle)
}
