//! prime-numbers: the primes up to and including n (for the default n = 100,
//! the same 25 as "below 100"), by the sieve of Eratosthenes.
//! Request: {"n": 100}
use study::{get_u64, json, Map, Result, Value};

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let n = get_u64(req, "n", 100, 0, 10_000_000)? as usize;
    let mut composite = vec![false; n + 1];
    let mut primes = Vec::new();
    for i in 2..=n {
        if composite[i] {
            continue;
        }
        primes.push(i);
        let mut j = i * i;
        while j <= n {
            composite[j] = true;
            j += i;
        }
    }
    Ok(json!({
        "function": "prime-numbers",
        "n": n,
        "count": primes.len(),
        "primes": primes,
    }))
}

fn main() {
    study::main(handle)
}
