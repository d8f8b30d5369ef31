//! matmul: C = A·B for random n×n matrices (the naive triple loop). A then B
//! (row-major) are SplitMix64 next_f64() of the seed. The answer carries
//! checksums a client recomputes: the sum of C's entries in row-major order,
//! its trace, and C[n−1][0].
//! Request: {"n": 50, "seed": 42}
use study::{get_seed, get_u64, json, Map, Result, SplitMix64, Value};

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let n = get_u64(req, "n", 50, 1, 2048)? as usize;
    let seed = get_seed(req)?;
    let mut rng = SplitMix64::new(seed);
    let a: Vec<f64> = (0..n * n).map(|_| rng.next_f64()).collect();
    let b: Vec<f64> = (0..n * n).map(|_| rng.next_f64()).collect();
    let mut c = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut s = 0.0;
            for k in 0..n {
                s += a[i * n + k] * b[k * n + j];
            }
            c[i * n + j] = s;
        }
    }
    let sum: f64 = c.iter().sum();
    let trace: f64 = (0..n).map(|i| c[i * n + i]).sum();
    Ok(json!({
        "function": "matmul",
        "n": n,
        "seed": seed,
        "sum": sum,
        "trace": trace,
        "corner": c[(n - 1) * n],
    }))
}

fn main() {
    study::main(handle)
}
