# cwasi_add_rust_functions(): builds the Rust guest SDK's examples
# (sdk/rust/examples) to wasm32-wasi reactors, into
# ${CWASI_FUNCTIONS_DIR}/<prefix><example>.wasm like the C functions.
#
# Debian's rustc and cargo (scripts/setup.sh: rustc cargo
# libstd-rust-dev-wasm32 lld-14) are the ones with a wasm32-wasi std;
# rustup's, earlier on PATH and used for Wasmtime, have none here, so both
# are named by absolute path. The crate has no dependencies: cargo runs
# --offline --locked, with its target dir and CARGO_HOME under the build dir.
set(CWASI_GUEST_RUSTC /usr/bin/rustc CACHE FILEPATH "rustc with a wasm32-wasi std (Debian's)")
set(CWASI_GUEST_CARGO /usr/bin/cargo CACHE FILEPATH "cargo for the Rust guest SDK (Debian's)")
set(CWASI_RUST_TARGET_DIR "${PROJECT_BINARY_DIR}/rust-target" CACHE INTERNAL "")

execute_process(COMMAND ${CWASI_GUEST_RUSTC} --print sysroot
                OUTPUT_VARIABLE _rust_sysroot OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE _rust_rc ERROR_QUIET)
if(NOT _rust_rc EQUAL 0 OR NOT EXISTS "${_rust_sysroot}/lib/rustlib/wasm32-wasi"
   OR NOT EXISTS "${CWASI_GUEST_CARGO}")
  message(FATAL_ERROR "No Rust toolchain with a wasm32-wasi std at ${CWASI_GUEST_RUSTC} and "
                      "${CWASI_GUEST_CARGO}: run scripts/setup.sh (Debian's rustc, cargo, "
                      "libstd-rust-dev-wasm32, lld-14)")
endif()

# The environment of every guest cargo run: Debian's rustc, nothing from the
# caller's Rust environment, warnings as errors with CWASI_WERROR.
set(CWASI_GUEST_CARGO_ENV
    --unset=RUSTC_WRAPPER --unset=CARGO_BUILD_RUSTFLAGS --unset=CARGO_ENCODED_RUSTFLAGS
    "RUSTC=${CWASI_GUEST_RUSTC}"
    "CARGO_TARGET_DIR=${CWASI_RUST_TARGET_DIR}"
    "CARGO_HOME=${CWASI_RUST_TARGET_DIR}/cargo-home")
if(CWASI_WERROR)
  list(APPEND CWASI_GUEST_CARGO_ENV "RUSTFLAGS=-Dwarnings")
else()
  list(APPEND CWASI_GUEST_CARGO_ENV --unset=RUSTFLAGS)
endif()

# cwasi_add_rust_functions(CRATE dir PREFIX prefix EXAMPLES name...)
function(cwasi_add_rust_functions)
  cmake_parse_arguments(ARG "" "CRATE;PREFIX" "EXAMPLES" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${ARG_CRATE}/src/*.rs" "${ARG_CRATE}/examples/*.rs")
  set(built "${CWASI_RUST_TARGET_DIR}/wasm32-wasi/release/examples")
  set(outs "")
  set(copies "")
  foreach(e ${ARG_EXAMPLES})
    set(out "${CWASI_FUNCTIONS_DIR}/${ARG_PREFIX}${e}.wasm")
    list(APPEND outs "${out}")
    list(APPEND copies COMMAND ${CMAKE_COMMAND} -E copy "${built}/${e}.wasm" "${out}")
  endforeach()
  add_custom_command(
    OUTPUT ${outs}
    COMMAND ${CMAKE_COMMAND} -E env ${CWASI_GUEST_CARGO_ENV}
            ${CWASI_GUEST_CARGO} build --quiet --offline --locked --release --target wasm32-wasi
            --examples --manifest-path "${ARG_CRATE}/Cargo.toml"
    ${copies}
    DEPENDS ${sources} "${ARG_CRATE}/Cargo.toml" "${ARG_CRATE}/Cargo.lock"
    COMMENT "wasm32-wasi (Rust): ${ARG_EXAMPLES}"
    VERBATIM)
  add_custom_target(rust-functions DEPENDS ${outs})
  add_dependencies(functions rust-functions)
endfunction()
