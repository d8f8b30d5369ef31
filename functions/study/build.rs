// Generates the data the study's text functions embed, from Debian's fortune
// files (packages fortunes, fortunes-min, fortunes-de/-it/-es/-ru):
//   $OUT_DIR/english.txt  the fuzzysearch corpus: every English fortune of
//                         the files below, each followed by a "%" line
//   $OUT_DIR/samples.rs   whatlang's default texts, (expected code, text)
// FORTUNES_DIR overrides /usr/share/games/fortunes.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

// The text files of `fortunes` and `fortunes-min` (Debian 12), in this order;
// not art and ascii-art (pictures). About 2.5 MB.
const ENGLISH: &[&str] = &[
    "computers", "cookie", "debian", "definitions", "disclaimer", "drugs", "education", "ethnic",
    "food", "fortunes", "goedel", "humorists", "kids", "knghtbrd", "law", "linux", "linuxcookie",
    "literature", "love", "magic", "medicine", "men-women", "miscellaneous", "news", "paradoxum",
    "people", "perl", "pets", "platitudes", "politics", "pratchett", "riddles", "science",
    "songs-poems", "sports", "startrek", "tao", "translate-me", "wisdom", "work", "zippy",
];

// whatlang's default texts: the first few prose fortunes of one file per language.
const SAMPLES: &[(&str, &str)] = &[
    ("eng", "wisdom"),
    ("deu", "de/zitate"),
    ("ita", "it/italia"),
    ("spa", "es/sabiduria.fortunes"),
    ("rus", "ru/citates"),
];
const SAMPLES_PER_LANGUAGE: usize = 3;

fn fortunes_of(path: &Path) -> Vec<String> {
    println!("cargo:rerun-if-changed={}", path.display());
    let bytes = fs::read(path).unwrap_or_else(|e| {
        panic!("{}: {} (install the fortunes packages: scripts/setup.sh)", path.display(), e)
    });
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line == "%" {
            if !cur.trim().is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

// Prose, not a picture or a list of one-liners: long enough for a reliable
// guess, mostly letters.
fn is_prose(s: &str) -> bool {
    let chars = s.chars().count();
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    (150..=600).contains(&chars) && letters * 10 >= chars * 7
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FORTUNES_DIR");
    let dir = PathBuf::from(
        env::var("FORTUNES_DIR").unwrap_or_else(|_| "/usr/share/games/fortunes".into()),
    );
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());

    let mut corpus = String::new();
    for name in ENGLISH {
        for f in fortunes_of(&dir.join(name)) {
            corpus.push_str(&f);
            corpus.push_str("%\n");
        }
    }
    fs::write(out.join("english.txt"), corpus).unwrap();

    let mut samples = String::from("pub const SAMPLES: &[(&str, &str)] = &[\n");
    for (code, file) in SAMPLES {
        let picked: Vec<String> = fortunes_of(&dir.join(file))
            .into_iter()
            .filter(|f| is_prose(f))
            .take(SAMPLES_PER_LANGUAGE)
            .collect();
        assert!(picked.len() == SAMPLES_PER_LANGUAGE, "{}: too few prose fortunes", file);
        for p in picked {
            writeln!(samples, "    ({:?}, {:?}),", code, p.trim_end()).unwrap();
        }
    }
    samples.push_str("];\n");
    fs::write(out.join("samples.rs"), samples).unwrap();
}
