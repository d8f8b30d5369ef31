//! What the study's nine functions share: the request/response shape, a
//! seeded generator whose output a test can reproduce in any language, and
//! the two ways a function is driven — as a WASI command (request on stdin,
//! response on stdout) and, natively, as a small HTTP server in the manner of
//! OpenFaaS's of-watchdog (`NAME --listen ADDR`).

pub use serde_json::{json, Map, Value};

pub mod http;

/// A failed request: the HTTP status a server answers and a message a client
/// can act on. The body is `{"error": message}` in both modes.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub status: u16,
    pub message: String,
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Error {
        Error { status: 400, message: message.into() }
    }
    pub fn not_found(message: impl Into<String>) -> Error {
        Error { status: 404, message: message.into() }
    }
    pub fn unavailable(message: impl Into<String>) -> Error {
        Error { status: 503, message: message.into() }
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error { status: 500, message: message.into() }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A function: the parsed request object (empty body = `{}`) to a response.
pub type Handler = fn(&Map<String, Value>) -> Result<Value>;

/// The request body as a JSON object; an empty (or blank) body is `{}`.
pub fn parse_request(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::invalid("the request must be a JSON object")),
        Err(e) => Err(Error::invalid(format!("the request is not JSON: {}", e))),
    }
}

/// Runs `handler` on a request body: (HTTP status, JSON body ending in a newline).
/// The same bytes in both modes, so a test can compare them.
pub fn respond(handler: Handler, body: &[u8]) -> (u16, Vec<u8>) {
    let result = parse_request(body).and_then(|req| handler(&req));
    let (status, value) = match result {
        Ok(v) => (200, v),
        Err(e) => (e.status, json!({ "error": e.message })),
    };
    let mut out = serde_json::to_vec(&value).expect("a Value always serializes");
    out.push(b'\n');
    (status, out)
}

/// The `main` of every function. Without arguments: the request on stdin, the
/// response on stdout, exit status 0 (1 when the request failed). With
/// `--listen ADDR` (native builds): an HTTP server, see `http::serve`. With
/// `--repeat N`: the call's compute alone, see `repeat`.
pub fn main(handler: Handler) {
    use std::io::{Read, Write};
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            let mut body = Vec::new();
            if let Err(e) = std::io::stdin().take(http::MAX_BODY as u64 + 1).read_to_end(&mut body) {
                eprintln!("reading the request: {}", e);
                std::process::exit(1);
            }
            let (status, out) = if body.len() > http::MAX_BODY {
                let e = Error { status: 413, message: "the request is too large".into() };
                (e.status, format!("{}\n", json!({ "error": e.message })).into_bytes())
            } else {
                respond(handler, &body)
            };
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(&out).and_then(|_| stdout.flush()).is_err() {
                std::process::exit(1);
            }
            std::process::exit(if status == 200 { 0 } else { 1 });
        }
        [flag, n] if flag == "--repeat" => match n.parse::<u32>() {
            Ok(n) if n > 0 => repeat(handler, n),
            _ => {
                eprintln!("--repeat: {}: not a positive integer", n);
                std::process::exit(2);
            }
        },
        [flag, addr] if flag == "--listen" => {
            if let Err(e) = http::serve(addr, handler) {
                eprintln!("{}: {}", addr, e);
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: {} [--listen ADDR | --repeat N]  (without them: request on stdin, response on stdout)",
                      std::env::args().next().unwrap_or_default());
            std::process::exit(2);
        }
    }
}

/// `--repeat N`: runs the request on stdin N times in this process and prints
/// on stdout one JSON line of per-call times in nanoseconds — the first call,
/// then min, median and mean over the others (`{"calls": N, "first_ns": …,
/// "min_ns": …, "median_ns": …, "mean_ns": …}`). A call is what a request costs
/// without I/O: parse, handler, serialize. The same source for the native
/// and the Wasm build (std::time::Instant; under WASI clock_time_get), so the
/// two times compare compute alone, without process, instance or HTTP costs.
/// Exit status 1, and nothing on stdout, when a call fails.
fn repeat(handler: Handler, n: u32) {
    use std::io::Read;
    use std::time::Instant;
    let mut body = Vec::new();
    if let Err(e) = std::io::stdin().take(http::MAX_BODY as u64).read_to_end(&mut body) {
        eprintln!("reading the request: {}", e);
        std::process::exit(1);
    }
    let mut times = Vec::with_capacity(n as usize);
    let mut expected: Option<Vec<u8>> = None;
    for _ in 0..n {
        let start = Instant::now();
        let (status, out) = respond(handler, &body);
        times.push(start.elapsed().as_nanos() as u64);
        if status != 200 {
            eprintln!("the call failed ({}): {}", status, String::from_utf8_lossy(&out));
            std::process::exit(1);
        }
        // Every call must compute the same answer (nothing cached across calls).
        match &expected {
            None => expected = Some(out),
            Some(e) if *e != out => {
                eprintln!("calls gave different answers");
                std::process::exit(1);
            }
            Some(_) => {}
        }
    }
    let first = times[0];
    let mut rest: Vec<u64> = if n > 1 { times[1..].to_vec() } else { times.clone() };
    rest.sort_unstable();
    let mean = rest.iter().sum::<u64>() / rest.len() as u64;
    println!("{}", json!({
        "calls": n,
        "first_ns": first,
        "min_ns": rest[0],
        "median_ns": rest[rest.len() / 2],
        "mean_ns": mean,
    }));
}

// ---- request fields ----

/// An unsigned integer field in [min, max], `default` when absent.
pub fn get_u64(req: &Map<String, Value>, key: &str, default: u64, min: u64, max: u64) -> Result<u64> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(Error::invalid(format!("{} must be an integer in [{}, {}]", key, min, max))),
        },
    }
}

/// A string field, `None` when absent.
pub fn get_str<'a>(req: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::invalid(format!("{} must be a string", key))),
    }
}

/// The seed every function takes (default 42).
pub fn get_seed(req: &Map<String, Value>) -> Result<u64> {
    get_u64(req, "seed", 42, 0, u64::MAX)
}

// ---- deterministic data ----

/// SplitMix64 (Steele, Lea, Flood 2014): a few lines, so a test in any
/// language reproduces the inputs of a request from its seed.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1): the top 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Fills `out` with the little-endian bytes of successive next_u64()
    /// (the last word's extra bytes dropped).
    pub fn fill_bytes(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let w = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

/// FNV-1a, 64 bits: a checksum a test recomputes in a few lines.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs for seed 1234567, as published with the algorithm.
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        assert!(parse_request(b" \n").unwrap().is_empty());
        assert_eq!(parse_request(b"[1]").unwrap_err().status, 400);
    }
}
