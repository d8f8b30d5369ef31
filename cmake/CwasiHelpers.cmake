# cwasi_add_library(): one library per layer, with the project's C++ standard,
# warnings, visibility and sanitizer settings applied in one place.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

add_library(cwasi_options INTERFACE)
target_compile_options(cwasi_options INTERFACE -Wall -Wextra -Wshadow -Wno-unused-parameter
                       -ffunction-sections -fdata-sections)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  target_compile_options(cwasi_options INTERFACE -Wthread-safety)
endif()
if(CWASI_WERROR)
  target_compile_options(cwasi_options INTERFACE -Werror)
endif()
if(CWASI_SANITIZE)
  if(NOT CWASI_SANITIZE MATCHES "^(address|undefined|thread|address,undefined)$")
    message(FATAL_ERROR "CWASI_SANITIZE must be address, undefined, thread or address,undefined")
  endif()
  target_compile_options(cwasi_options INTERFACE -fsanitize=${CWASI_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(cwasi_options INTERFACE -fsanitize=${CWASI_SANITIZE})
  if(CWASI_SANITIZE MATCHES "undefined")
    # Undefined behaviour fails the test or fuzz run instead of printing and going on.
    target_compile_options(cwasi_options INTERFACE -fno-sanitize-recover=undefined)
  endif()
endif()
if(CWASI_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CWASI_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Coverage feedback from everything the fuzz targets reach; libFuzzer
  # itself is linked into the fuzz targets only (fuzz/CMakeLists.txt).
  target_compile_options(cwasi_options INTERFACE -fsanitize=fuzzer-no-link)
endif()

function(cwasi_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE cwasi_options ${ARG_PRIVATE_DEPS})
  set_target_properties(${name} PROPERTIES CXX_VISIBILITY_PRESET hidden)
endfunction()

function(cwasi_add_executable name)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE cwasi_options ${ARG_DEPS})
  if(ARG_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
  endif()
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  # Start-up matters (`cwasi run` is timed against a native binary): no PIE
  # relocations, no dynamic libstdc++ symbol lookups.
  # Dropping unused sections shrinks what the kernel maps and faults in.
  target_link_options(${name} PRIVATE -no-pie -static-libstdc++ -static-libgcc
                      -Wl,--gc-sections -Wl,-z,noseparate-code)
endfunction()
