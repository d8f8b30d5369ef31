// cwasi-bench study, §2b: where the compute time goes. Each study function's
// handler timed inside its own process (native) and inside one Wasm instance
// (Wasmtime, as cwasid configures it), without HTTP, gateway or instantiation,
// and the variants that attribute a gap (a native build with the Wasm build's
// math library or without AES-NI, the engine's settings, a perf profile).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace cwasi::bench {

struct StudyProfile {
  std::string markdown;                      // the section, starting "## "
  std::string csv;                           // rows "profile,FUNCTION,CASE,METRIC,VALUE\n"
  std::map<std::string, std::string> where;  // function → where its time goes, measured
  bool ok = false;                           // false: a step failed (said on stderr)
};

// `quick`: a few repetitions, for the CTest smoke run.
StudyProfile profileStudy(const std::vector<std::string>& functions, bool quick);

}  // namespace cwasi::bench
