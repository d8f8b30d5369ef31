# cwasi_add_go_function(): builds a Go function with the Go SDK (sdk/go) into
# ${CWASI_FUNCTIONS_DIR}/<name>.wasm, beside the C functions, as a WASI
# reactor: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
#
# Go >= 1.24 comes from PATH or /usr/local/go/bin (the machine image's, as
# for scripts/operator.sh; Debian 12's is older). Go's caches stay outside the
# clone (GOCACHE ~/.cache/go-build, shared with the operator's builds; the SDK
# has no dependencies, so GOMODCACHE is never filled), and nothing is fetched
# while building (GOPROXY=off, GOTOOLCHAIN=local).
find_program(CWASI_GO NAMES go HINTS /usr/local/go/bin
             DOC "Go >= 1.24, for the Go SDK's functions (sdk/go)")
if(NOT CWASI_GO)
  message(FATAL_ERROR "go (>= 1.24) not found on PATH nor in /usr/local/go/bin: it builds the Go "
                      "SDK's functions (sdk/go). Pass -DCWASI_GO=/path/to/go.")
endif()
execute_process(COMMAND "${CWASI_GO}" env GOVERSION OUTPUT_VARIABLE _cwasi_go_version
                OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _cwasi_go_rc)
string(REGEX MATCH "^go1\\.([0-9]+)" _cwasi_go_minor "${_cwasi_go_version}")
if(NOT _cwasi_go_rc EQUAL 0 OR NOT CMAKE_MATCH_1 OR CMAKE_MATCH_1 LESS 24)
  message(FATAL_ERROR "${CWASI_GO} is ${_cwasi_go_version}: the Go SDK needs Go >= 1.24 "
                      "(go:wasmexport)")
endif()

if(DEFINED ENV{HOME} AND NOT "$ENV{HOME}" STREQUAL "")
  set(_cwasi_go_cache_default "$ENV{HOME}/.cache")
else()
  set(_cwasi_go_cache_default "${PROJECT_BINARY_DIR}/go-cache")
endif()
set(CWASI_GO_CACHE_DIR "${_cwasi_go_cache_default}" CACHE PATH
    "Where Go keeps its build cache (go-build) and module cache (go-mod)")
set(CWASI_GO_ENV
    GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off GOWORK=off
    "GOFLAGS=-mod=readonly -buildvcs=false"
    "GOCACHE=${CWASI_GO_CACHE_DIR}/go-build" "GOMODCACHE=${CWASI_GO_CACHE_DIR}/go-mod")
set(CWASI_GO_SDK_DIR "${PROJECT_SOURCE_DIR}/sdk/go")

# One go build at a time: each already uses every core.
set_property(GLOBAL APPEND PROPERTY JOB_POOLS cwasi_go=1)

# cwasi_add_go_function(NAME name PACKAGE ./path/in/sdk/go)
function(cwasi_add_go_function)
  cmake_parse_arguments(ARG "" "NAME;PACKAGE" "" ${ARGN})
  set(out "${CWASI_FUNCTIONS_DIR}/${ARG_NAME}.wasm")
  # Any file of the module may change what a function links.
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${CWASI_GO_SDK_DIR}/*.go" "${CWASI_GO_SDK_DIR}/go.mod")
  list(FILTER sources EXCLUDE REGEX "_test\\.go$")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E env ${CWASI_GO_ENV}
            "${CWASI_GO}" build -buildmode=c-shared -trimpath -o "${out}" "${ARG_PACKAGE}"
    WORKING_DIRECTORY "${CWASI_GO_SDK_DIR}"
    DEPENDS ${sources}
    JOB_POOL cwasi_go
    COMMENT "wasip1 (Go): ${ARG_NAME}.wasm"
    VERBATIM)
  add_custom_target(function-${ARG_NAME} DEPENDS "${out}")
  add_dependencies(functions function-${ARG_NAME})
endfunction()
