// cwasi-bench shim: the containerd shim against runc under the same real
// containerd (overlayfs snapshotter): `ctr run --rm` end to end for `hello`
// as a cwasi Wasm image and as a static native binary in a runc image; memory
// (PSS) per idle running task; image sizes.
#include <signal.h>

#include <fstream>
#include <iostream>
#include <thread>

#include "bench.h"
#include "cwasi/common/files.h"
#include "cwasi/oci/image.h"
#include "testbed/containerd.h"
#include "stats.h"

namespace cwasi::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

fs::path fnDir() { return fs::path(CWASI_FUNCTIONS_DIR); }

// Proportional set size of a process, in KiB (0 if unreadable).
long pssKiB(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "Pss:") {
      in >> value;
      return value;
    }
    in.ignore(4096, '\n');
  }
  return 0;
}

Result<size_t> buildAndImport(testbed::ContainerdProcess& c, const fs::path& binary,
                              const oci::BuildOptions& o, const fs::path& out) {
  TRY_ASSIGN(auto bytes, readFile(binary));
  TRY_ASSIGN(auto tar, oci::buildImageArchive(bytes, o));
  TRY(writeFileAtomic(out, tar));
  auto r = c.ctr({"image", "import", "--all-platforms", out.string()});
  if (r.exit_code != 0) return internal("ctr image import: " + r.err);
  return tar.size();
}

std::string kib(long v) { return std::to_string(v) + " KiB"; }

}  // namespace

int shimBench(const BenchOptions& o) {
  const int runs = o.quick ? 3 : 100;
  const int idle_tasks = o.quick ? 2 : 10;
  auto dir = makeTempDir("cwasi-bench-shim-");
  if (!dir.ok()) return 1;
  const std::string path = std::string(CWASI_BIN_DIR) + ":" + std::getenv("PATH");
  auto c = testbed::ContainerdProcess::start(
      *dir, {{"PATH", path},
             {"CWASI_RUNTIME_DIR", (*dir / "cwasi-run").string()},
             {"CWASI_CACHE_DIR", (*dir / "cwasi-cache").string()}});
  if (!c.ok()) {
    std::cerr << "containerd: " << c.error().message() << "\n";
    return 1;
  }
  testbed::ContainerdProcess& ctd = **c;

  oci::BuildOptions wasm;
  wasm.ref = "docker.io/cwasi/hello-wasm:bench";
  oci::BuildOptions native;
  native.ref = "docker.io/cwasi/hello-native:bench";
  native.wasm = false;
  native.os = "linux";
  native.architecture = "amd64";
  native.module_name = "hello";
  oci::BuildOptions upper = wasm;
  upper.ref = "docker.io/cwasi/upper:bench";
  oci::BuildOptions idle = native;
  idle.ref = "docker.io/cwasi/idle-native:bench";
  idle.module_name = "idle";
  auto wasm_size = buildAndImport(ctd, fnDir() / "hello.wasm", wasm, *dir / "hello-wasm.tar");
  auto native_size = buildAndImport(ctd, fnDir() / "hello-static", native, *dir / "hello-native.tar");
  auto upper_size = buildAndImport(ctd, fnDir() / "upper.wasm", upper, *dir / "upper.tar");
  auto idle_size = buildAndImport(ctd, fnDir() / "idle-static", idle, *dir / "idle.tar");
  for (auto* r : {&wasm_size, &native_size, &upper_size, &idle_size}) {
    if (!r->ok()) {
      std::cerr << r->error().message() << "\n";
      return 1;
    }
  }

  // End to end: ctr run --rm, the same containerd, the same snapshotter.
  std::vector<Row> rows;
  struct Case {
    std::string name, image;
    std::vector<std::string> runtime;
  };
  const std::vector<Case> cases = {
      {"runc: static native hello", native.ref, {}},
      {"cwasi shim: hello.wasm", wasm.ref, {"--runtime", "io.containerd.cwasi.v1"}},
  };
  double runc_p50 = 0;
  for (const auto& k : cases) {
    std::vector<std::chrono::nanoseconds> samples;
    for (int i = -2; i < runs; ++i) {  // two warm-up runs (first-run precompile, page cache)
      std::vector<std::string> argv = {"run", "--rm"};
      argv.insert(argv.end(), k.runtime.begin(), k.runtime.end());
      argv.push_back(k.image);
      argv.push_back("bench-" + std::to_string(i + 2) + "-" + std::to_string(samples.size()) +
                     (k.runtime.empty() ? "-runc" : "-cwasi"));
      const auto t0 = Clock::now();
      auto r = ctd.ctr(argv);
      const auto elapsed = Clock::now() - t0;
      if (r.exit_code != 0 || r.out != "Hello from cwasi!\n") {
        std::cerr << k.name << ": exit " << r.exit_code << " " << r.err << r.out << "\n";
        return 1;
      }
      if (i >= 0) samples.push_back(elapsed);
    }
    Summary s = summarize(samples);
    if (runc_p50 == 0) runc_p50 = s.p50_us;
    char note[64];
    std::snprintf(note, sizeof note, "%.1fx faster than runc", runc_p50 / s.p50_us);
    rows.push_back({"ctr run --rm, end to end", k.name, s, runc_p50 == s.p50_us ? "baseline" : note});
  }

  // Memory per idle running task.
  auto startIdle = [&](const std::string& image, const std::string& id,
                       std::vector<std::string> extra) {
    std::vector<std::string> argv = {"run", "-d"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(image);
    argv.push_back(id);
    return ctd.ctr(argv).exit_code == 0;
  };
  for (int i = 0; i < idle_tasks; ++i) {
    if (!startIdle(upper.ref, "idle-cwasi-" + std::to_string(i), {"--runtime", "io.containerd.cwasi.v1"}) ||
        !startIdle(upper.ref, "idle-pod-" + std::to_string(i),
                   {"--runtime", "io.containerd.cwasi.v1", "--annotation",
                    "io.kubernetes.cri.sandbox-id=bench-pod"}) ||
        !startIdle(idle.ref, "idle-runc-" + std::to_string(i), {})) {
      std::cerr << "cannot start idle tasks\n";
      return 1;
    }
  }
  std::this_thread::sleep_for(500ms);
  long cwasi_pss = 0, pod_pss = 0, runc_pss = 0;
  int cwasi_shims = 0, pod_shims = 0, runc_shims = 0;
  for (int pid : testbed::processesWithCmdline({"containerd-shim-cwasi-v1", ctd.socket()})) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find("idle-pod-") != std::string::npos) {
      pod_pss += pssKiB(pid);
      ++pod_shims;
    } else {
      cwasi_pss += pssKiB(pid);
      ++cwasi_shims;
    }
  }
  for (int pid : testbed::processesWithCmdline({"containerd-shim-runc-v2", ctd.socket()})) {
    runc_pss += pssKiB(pid);
    for (int child : testbed::childrenOf(pid)) runc_pss += pssKiB(child);
    ++runc_shims;
  }
  auto stopAll = [&](const std::string& prefix) {
    for (int i = 0; i < idle_tasks; ++i) {
      const std::string id = prefix + std::to_string(i);
      ctd.ctr({"task", "kill", "-s", "SIGKILL", id});
      for (int k = 0; k < 100 && ctd.ctr({"task", "delete", id}).exit_code != 0; ++k) {
        std::this_thread::sleep_for(20ms);
      }
      ctd.ctr({"container", "rm", id});
    }
  };
  stopAll("idle-cwasi-");
  stopAll("idle-pod-");
  stopAll("idle-runc-");

  char mem[1024];
  std::snprintf(mem, sizeof mem,
                "\n| memory per idle running task (PSS) | processes | per task |\n|---|---:|---:|\n"
                "| runc: shim + static native process | %d shims | %s |\n"
                "| cwasi: a shim per task (upper.wasm, serving) | %d shims | %s |\n"
                "| cwasi: %d tasks in one pod's shim | %d shim | %s |\n",
                runc_shims, kib(runc_shims ? runc_pss / idle_tasks : 0).c_str(), cwasi_shims,
                kib(cwasi_shims ? cwasi_pss / idle_tasks : 0).c_str(), idle_tasks, pod_shims,
                kib(pod_shims ? pod_pss / idle_tasks : 0).c_str());
  char sizes[512];
  std::snprintf(sizes, sizeof sizes,
                "\n| image (OCI layout tarball) | bytes |\n|---|---:|\n"
                "| runc: static native hello | %zu |\n| cwasi: hello.wasm | %zu (%.1fx smaller) |\n",
                *native_size, *wasm_size, static_cast<double>(*native_size) / *wasm_size);
  std::error_code ec;
  c->reset();
  fs::remove_all(*dir, ec);

  const std::string header =
      "# cwasi-bench shim\n\ncontainerd 1.6 from Debian, overlayfs snapshotter, the same daemon for "
      "both runtimes; times include `ctr` itself. " +
      std::string(o.quick ? "Quick smoke run." : "Full run.") + "\n" + mem + sizes;
  std::cout << header << "\n" << markdownTable(rows);
  if (!o.out_dir.empty() && !writeReport(o.out_dir, "shim", header, rows)) return 1;
  return 0;
}

}  // namespace cwasi::bench
