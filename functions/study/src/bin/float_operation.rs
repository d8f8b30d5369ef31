//! float-operation: sin, cos and sqrt of 0, 1, …, n−1 (FunctionBench's
//! float_operation), summed so a client can check each against a closed
//! form: Σ sin k = sin((n−1)/2)·sin(n/2)/sin(1/2), Σ cos k likewise with cos.
//! Request: {"n": 10000000}
use study::{get_u64, json, Map, Result, Value};

// Feature musl-math (the study profile's attribution build): musl's sin and
// cos, as wasm32-wasi's libc has them, in a native build.
#[cfg(feature = "musl-math")]
use libm::{cos, sin};
#[cfg(not(feature = "musl-math"))]
fn sin(x: f64) -> f64 {
    x.sin()
}
#[cfg(not(feature = "musl-math"))]
fn cos(x: f64) -> f64 {
    x.cos()
}

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let n = get_u64(req, "n", 10_000_000, 0, 1_000_000_000)?;
    let (mut sum_sin, mut sum_cos, mut sum_sqrt) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        let x = i as f64;
        sum_sin += sin(x);
        sum_cos += cos(x);
        sum_sqrt += x.sqrt();
    }
    Ok(json!({
        "function": "float-operation",
        "n": n,
        "sum_sin": sum_sin,
        "sum_cos": sum_cos,
        "sum_sqrt": sum_sqrt,
    }))
}

fn main() {
    study::main(handle)
}
