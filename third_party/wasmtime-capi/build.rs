//! Copies the C/C++ headers that wasmtime-c-api-impl installs (including the
//! generated wasmtime/conf.h) to `$CWASI_WASMTIME_INCLUDE_OUT`, where CMake
//! picks them up next to the static library.
use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create include dir");
    for entry in std::fs::read_dir(from).expect("read include dir") {
        let entry = entry.expect("dir entry");
        let dst = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &dst);
        } else {
            std::fs::copy(entry.path(), &dst).expect("copy header");
        }
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=CWASI_WASMTIME_INCLUDE_OUT");
    println!("cargo:rerun-if-changed=build.rs");
    let src = PathBuf::from(
        std::env::var("DEP_WASMTIME_C_API_INCLUDE").expect("wasmtime-c-api-impl exports its include dir"),
    );
    if let Ok(out) = std::env::var("CWASI_WASMTIME_INCLUDE_OUT") {
        copy_dir(&src, Path::new(&out));
    }
}
