//! whatlang: detects the language of texts (whatlang 0.16). Without "texts",
//! of the embedded samples — fortunes in English, German, Italian, Spanish
//! and Russian picked by build.rs — and then each result carries the
//! expected language and the answer counts the correct ones.
//! Request: {"texts": ["…", …]} (or {"text": "…"}); {} = the samples.
use study::{get_str, json, Error, Map, Result, Value};

include!(concat!(env!("OUT_DIR"), "/samples.rs"));

fn detect(text: &str) -> Value {
    match whatlang::detect(text) {
        Some(info) => json!({
            "lang": info.lang().code(),
            "name": info.lang().eng_name(),
            "script": info.script().name(),
            "confidence": info.confidence(),
            "reliable": info.is_reliable(),
        }),
        None => json!({ "lang": null }),
    }
}

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let texts: Vec<&str> = match (req.get("texts"), get_str(req, "text")?) {
        (Some(Value::Array(a)), _) => a
            .iter()
            .map(|t| t.as_str().ok_or_else(|| Error::invalid("texts must be strings")))
            .collect::<Result<_>>()?,
        (Some(_), _) => return Err(Error::invalid("texts must be an array of strings")),
        (None, Some(t)) => vec![t],
        (None, None) => {
            let mut results = Vec::new();
            let mut correct = 0;
            for (expected, text) in SAMPLES {
                let mut r = detect(text);
                correct += (r["lang"] == *expected) as usize;
                r["expected"] = json!(expected);
                results.push(r);
            }
            return Ok(json!({
                "function": "whatlang",
                "samples": SAMPLES.len(),
                "correct": correct,
                "results": results,
            }));
        }
    };
    Ok(json!({
        "function": "whatlang",
        "results": texts.iter().map(|t| detect(t)).collect::<Vec<_>>(),
    }))
}

fn main() {
    study::main(handle)
}
