# cwasi_add_function(): compiles a guest function to wasm32-wasi with clang,
# into ${CWASI_FUNCTIONS_DIR}/<name>.wasm. Debian's clang finds the WASI
# sysroot (/usr/include/wasm32-wasi, /usr/lib/wasm32-wasi) by itself.
find_program(CWASI_WASM_CC NAMES clang clang-14 REQUIRED)
set(CWASI_FUNCTIONS_DIR "${PROJECT_BINARY_DIR}/functions" CACHE INTERNAL "")
file(MAKE_DIRECTORY "${CWASI_FUNCTIONS_DIR}")
add_custom_target(functions ALL)

# cwasi_add_function(NAME name SOURCES files... [REACTOR] [CXX])
#
# Compiles and links in two steps on purpose: given an optimization level at
# link time, clang runs binaryen's wasm-opt when it is installed, which drops
# the name section — and with it the function names in trap messages.
# --stack-first puts the 64 KiB shadow stack below the data, so a stack
# overflow traps (out of bounds) instead of silently corrupting globals.
function(cwasi_add_function)
  cmake_parse_arguments(ARG "REACTOR;CXX" "NAME" "SOURCES" ${ARGN})
  set(out "${CWASI_FUNCTIONS_DIR}/${ARG_NAME}.wasm")
  set(objdir "${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}.objs")
  file(MAKE_DIRECTORY "${objdir}")
  set(cflags --target=wasm32-wasi -O2 -I${PROJECT_SOURCE_DIR}/sdk/c -Wall -Wextra)
  set(ldflags --target=wasm32-wasi -Wl,--stack-first)
  if(ARG_REACTOR)
    list(APPEND ldflags -mexec-model=reactor)
  endif()
  if(ARG_CXX)
    list(APPEND cflags -x c++ -std=c++17 -fno-exceptions)
    list(APPEND ldflags --driver-mode=g++ -fno-exceptions)
  endif()
  set(objs "")
  foreach(s ${ARG_SOURCES})
    get_filename_component(base "${s}" NAME_WE)
    set(obj "${objdir}/${base}.o")
    add_custom_command(
      OUTPUT "${obj}"
      COMMAND ${CWASI_WASM_CC} ${cflags} -MD -MF "${obj}.d" -c -o "${obj}"
              "${CMAKE_CURRENT_SOURCE_DIR}/${s}"
      DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${s}" "${PROJECT_SOURCE_DIR}/sdk/c/cwasi.h"
      DEPFILE "${obj}.d"
      COMMENT "wasm32-wasi: ${s}"
      VERBATIM)
    list(APPEND objs "${obj}")
  endforeach()
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CWASI_WASM_CC} ${ldflags} -o "${out}" ${objs}
    DEPENDS ${objs}
    COMMENT "wasm32-wasi: ${ARG_NAME}.wasm"
    VERBATIM)
  add_custom_target(function-${ARG_NAME} DEPENDS "${out}")
  add_dependencies(functions function-${ARG_NAME})
endfunction()
