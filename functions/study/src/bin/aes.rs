//! aes: AES-128-CFB over a message, `iterations` times — encrypt a copy,
//! decrypt it, check the round trip. Key, IV and message are SplitMix64
//! bytes of the seed, in that order (fill_bytes), so a client recomputes the
//! ciphertext with any AES library.
//! Request: {"size": 1000, "iterations": 100, "seed": 42}
use aes::cipher::{AsyncStreamCipher, KeyIvInit};
use study::{get_seed, get_u64, json, Map, Result, SplitMix64, Value};

type Enc = cfb_mode::Encryptor<aes::Aes128>;
type Dec = cfb_mode::Decryptor<aes::Aes128>;

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let size = get_u64(req, "size", 1000, 0, 1 << 20)? as usize;
    let iterations = get_u64(req, "iterations", 100, 1, 100_000)?;
    let seed = get_seed(req)?;
    let mut rng = SplitMix64::new(seed);
    let (mut key, mut iv) = ([0u8; 16], [0u8; 16]);
    rng.fill_bytes(&mut key);
    rng.fill_bytes(&mut iv);
    let mut message = vec![0u8; size];
    rng.fill_bytes(&mut message);

    let mut ciphertext = Vec::new();
    let mut round_trip = true;
    for _ in 0..iterations {
        let mut buf = message.clone();
        Enc::new(&key.into(), &iv.into()).encrypt(&mut buf);
        ciphertext.clone_from(&buf);
        Dec::new(&key.into(), &iv.into()).decrypt(&mut buf);
        round_trip &= buf == message;
    }
    Ok(json!({
        "function": "aes",
        "size": size,
        "iterations": iterations,
        "seed": seed,
        "key": study::hex(&key),
        "iv": study::hex(&iv),
        "ciphertext_fnv1a64": format!("{:016x}", study::fnv1a64(&ciphertext)),
        "ciphertext_head": study::hex(&ciphertext[..ciphertext.len().min(32)]),
        "round_trip": round_trip,
    }))
}

fn main() {
    study::main(handle)
}
