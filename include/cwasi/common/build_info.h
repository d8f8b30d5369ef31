// What was built: the version (CWASI_VERSION, from the project) and the
// commit, written at build time (cmake/BuildSha.cmake).
#pragma once

namespace cwasi {

inline constexpr char kVersion[] = CWASI_VERSION;
// The git commit built ("<sha>[-dirty]"), or "unknown".
const char* buildSha();

}  // namespace cwasi
