//! float-operation: sin, cos and sqrt of 0, 1, …, n−1 (FunctionBench's
//! float_operation), summed so a client can check each against a closed
//! form: Σ sin k = sin((n−1)/2)·sin(n/2)/sin(1/2), Σ cos k likewise with cos.
//! Request: {"n": 10000000}
use study::{get_u64, json, Map, Result, Value};

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let n = get_u64(req, "n", 10_000_000, 0, 1_000_000_000)?;
    let (mut sum_sin, mut sum_cos, mut sum_sqrt) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        let x = i as f64;
        sum_sin += x.sin();
        sum_cos += x.cos();
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
