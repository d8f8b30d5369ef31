# Builds Wasmtime's C/C++ API (third_party/wasmtime-capi, a Cargo crate over
# wasmtime-c-api-impl) into a static library and exposes it as the imported
# target `wasmtime::wasmtime`. The Cargo target dir lives under
# CWASI_CACHE_DIR, outside the clone, so every build and CI run reuses it.
# Cargo runs at configure time (a no-op taking about a second once built);
# editing the crate re-runs configure.
find_program(CARGO cargo HINTS "$ENV{HOME}/.cargo/bin" REQUIRED)

set(_crate "${PROJECT_SOURCE_DIR}/third_party/wasmtime-capi")
set(WASMTIME_TARGET_DIR "${CWASI_CACHE_DIR}/cargo-target")
set(WASMTIME_INCLUDE_DIR "${WASMTIME_TARGET_DIR}/include")
set(WASMTIME_LIBRARY "${WASMTIME_TARGET_DIR}/release/libwasmtime.a")

set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  "${_crate}/Cargo.toml" "${_crate}/Cargo.lock" "${_crate}/build.rs" "${_crate}/src/lib.rs")

message(STATUS "Building Wasmtime C API with cargo (first build takes several minutes)")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env
          "CARGO_TARGET_DIR=${WASMTIME_TARGET_DIR}"
          "CWASI_WASMTIME_INCLUDE_OUT=${WASMTIME_INCLUDE_DIR}"
          ${CARGO} build --release --locked --manifest-path "${_crate}/Cargo.toml"
  RESULT_VARIABLE _cargo_rc)
if(NOT _cargo_rc EQUAL 0 OR NOT EXISTS "${WASMTIME_LIBRARY}" OR NOT EXISTS "${WASMTIME_INCLUDE_DIR}/wasmtime.h")
  message(FATAL_ERROR "cargo build of the Wasmtime C API failed (exit ${_cargo_rc})")
endif()

add_library(wasmtime::wasmtime STATIC IMPORTED GLOBAL)
set_target_properties(wasmtime::wasmtime PROPERTIES
  IMPORTED_LOCATION "${WASMTIME_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${WASMTIME_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
