//! fuzzysearch: fuzzy-finds a phrase (skim's algorithm, fuzzy-matcher 0.3)
//! in every fortune of an English corpus of about 2.5 MB, and answers the
//! best `limit` matches: the fortune, its score, and the byte offsets in its
//! text of the characters that matched.
//!
//! The corpus is embedded (include_bytes of the file build.rs generates from
//! Debian's `fortunes`), so the function needs no file system in either
//! packaging; it adds the same ~2.5 MB to the Wasm module and to the native
//! binary.
//! Request: {"pattern": "time flies like an arrow", "limit": 5}
use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;
use study::{get_str, get_u64, json, Error, Map, Result, Value};

static CORPUS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/english.txt"));

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let pattern = get_str(req, "pattern")?.unwrap_or("time flies like an arrow");
    if pattern.is_empty() || pattern.len() > 256 {
        return Err(Error::invalid("pattern must have 1 to 256 bytes"));
    }
    let limit = get_u64(req, "limit", 5, 1, 100)? as usize;
    let corpus = std::str::from_utf8(CORPUS).map_err(|_| Error::internal("corpus is not UTF-8"))?;
    let matcher = SkimMatcherV2::default();

    // (score, fortune index, fortune) of every fortune that matches at all.
    let mut hits: Vec<(i64, usize, &str)> = Vec::new();
    let mut fortunes = 0;
    for (i, fortune) in corpus.split("%\n").filter(|f| !f.is_empty()).enumerate() {
        fortunes += 1;
        if let Some(score) = matcher.fuzzy_match(fortune, pattern) {
            hits.push((score, i, fortune));
        }
    }
    // Best first; ties in corpus order, so the answer is deterministic.
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let matches: Vec<Value> = hits
        .iter()
        .take(limit)
        .map(|&(score, index, text)| {
            let chars = matcher.fuzzy_indices(text, pattern).map(|(_, v)| v).unwrap_or_default();
            let offsets: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
            let positions: Vec<usize> = chars.iter().map(|&c| offsets[c]).collect();
            json!({ "fortune": index, "score": score, "positions": positions, "text": text })
        })
        .collect();
    Ok(json!({
        "function": "fuzzysearch",
        "pattern": pattern,
        "corpus_bytes": CORPUS.len(),
        "corpus_fnv1a64": format!("{:016x}", study::fnv1a64(CORPUS)),
        "fortunes": fortunes,
        "matched": hits.len(),
        "matches": matches,
    }))
}

fn main() {
    study::main(handle)
}
