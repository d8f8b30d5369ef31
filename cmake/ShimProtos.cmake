# containerd's protobuf messages for the shim, generated at build time from the
# .proto files Debian packages (golang-github-containerd-containerd-dev,
# golang-github-gogo-protobuf-dev, golang-github-containerd-cgroups-dev,
# librust-ttrpc-dev). protoc 3.21 refuses their `import weak` lines, so each
# file is copied with `import weak` rewritten to `import` first.
find_package(Protobuf REQUIRED)

set(CWASI_GOCODE /usr/share/gocode/src CACHE PATH "Go sources of Debian's golang-*-dev packages")
set(CWASI_TTRPC_PROTO /usr/share/cargo/registry/ttrpc-0.5.2/src/ttrpc.proto CACHE FILEPATH
    "ttrpc's Request/Response protocol (from librust-ttrpc-dev)")

# path inside the generated tree -> source file
set(_shim_protos
  "github.com/containerd/containerd/runtime/v2/task/shim.proto|${CWASI_GOCODE}/github.com/containerd/containerd/runtime/v2/task/shim.proto"
  "github.com/containerd/containerd/api/types/mount.proto|${CWASI_GOCODE}/github.com/containerd/containerd/api/types/mount.proto"
  "github.com/containerd/containerd/api/types/task/task.proto|${CWASI_GOCODE}/github.com/containerd/containerd/api/types/task/task.proto"
  "github.com/containerd/containerd/api/events/task.proto|${CWASI_GOCODE}/github.com/containerd/containerd/api/events/task.proto"
  "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.proto|${CWASI_GOCODE}/github.com/containerd/containerd/api/services/ttrpc/events/v1/events.proto"
  "github.com/containerd/containerd/protobuf/plugin/fieldpath.proto|${CWASI_GOCODE}/github.com/containerd/containerd/protobuf/plugin/fieldpath.proto"
  "github.com/containerd/cgroups/stats/v1/metrics.proto|${CWASI_GOCODE}/github.com/containerd/cgroups/stats/v1/metrics.proto"
  "gogoproto/gogo.proto|${CWASI_GOCODE}/github.com/gogo/protobuf/gogoproto/gogo.proto"
  "ttrpc/ttrpc.proto|${CWASI_TTRPC_PROTO}")

set(_proto_root ${PROJECT_BINARY_DIR}/proto)
set(_proto_srcs)
set(_proto_inputs)
foreach(entry ${_shim_protos})
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 rel)
  list(GET parts 1 src)
  if(NOT EXISTS "${src}")
    message(FATAL_ERROR "missing ${src}: run scripts/setup.sh (containerd/gogo/cgroups/ttrpc -dev packages)")
  endif()
  file(READ "${src}" text)
  string(REPLACE "import weak " "import " text "${text}")
  set(dst ${_proto_root}/${rel})
  get_filename_component(dst_dir ${dst} DIRECTORY)
  file(MAKE_DIRECTORY ${dst_dir})
  file(WRITE ${dst}.tmp "${text}")
  configure_file(${dst}.tmp ${dst} COPYONLY)
  list(APPEND _proto_inputs ${dst})
  string(REGEX REPLACE "\\.proto$" "" stem ${rel})
  list(APPEND _proto_srcs ${_proto_root}/${stem}.pb.cc)
endforeach()

set(_proto_rel)
foreach(entry ${_shim_protos})
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 rel)
  list(APPEND _proto_rel ${rel})
endforeach()

add_custom_command(
  OUTPUT ${_proto_srcs}
  COMMAND ${Protobuf_PROTOC_EXECUTABLE} -I ${_proto_root} -I ${Protobuf_INCLUDE_DIRS}
          --cpp_out=${_proto_root} ${_proto_rel}
  DEPENDS ${_proto_inputs}
  WORKING_DIRECTORY ${_proto_root}
  COMMENT "Generating containerd/ttrpc protobuf code")

add_library(cwasi_shim_proto STATIC ${_proto_srcs})
target_include_directories(cwasi_shim_proto SYSTEM PUBLIC ${_proto_root})
target_link_libraries(cwasi_shim_proto PUBLIC protobuf::libprotobuf)
target_compile_options(cwasi_shim_proto PRIVATE -w)
set_target_properties(cwasi_shim_proto PROPERTIES POSITION_INDEPENDENT_CODE ON)
