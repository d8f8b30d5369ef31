// cwasi-bench study, §2b: where the compute time goes. Each study function's
// handler timed inside its own process (native) and inside one Wasm instance
// (Wasmtime, as cwasid configures it), without HTTP, gateway or instantiation,
// and the variants that attribute a gap (a native build with the Wasm build's
// math library or without AES-NI, the engine's settings, a perf profile).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace cwasi::bench {

// What the study's two halves (study_bench.cc, study_profile.cc) share.
// The compute functions, in the report's order (user-manager, I/O, is not one).
const std::vector<std::string>& studyComputeFunctions();
// The goal: compute within this factor of native.
constexpr double kStudyComputeGoal = 1.3;
// a / b as "2.50×", "—" when b is not positive.
std::string studyRatio(double a, double b);
// build/functions/study-F[SUFFIX].wasm and build/functions/native/study-F[SUFFIX]
// (SUFFIX: an attribution build, e.g. "-simd128", "-soft").
std::filesystem::path studyWasmPath(const std::string& f, const std::string& suffix = "");
std::filesystem::path studyNativePath(const std::string& f, const std::string& suffix = "");

struct StudyProfile {
  std::string markdown;                      // the section, starting "## "
  std::string csv;                           // rows "profile,FUNCTION,CASE,METRIC,VALUE\n"
  std::map<std::string, std::string> where;  // function → where its time goes, measured
  bool ok = false;                           // false: a step failed (said on stderr)
};

// `quick`: a few repetitions, for the CTest smoke run.
StudyProfile profileStudy(const std::vector<std::string>& functions, bool quick);

}  // namespace cwasi::bench
