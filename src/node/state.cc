#include "cwasi/node/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cwasi/common/files.h"
#include "cwasi/common/sha256.h"

namespace cwasi::node {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> bytesOf(const std::string& s) { return {s.begin(), s.end()}; }

Result<std::string> randomToken() {
  uint8_t raw[24];
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return internal("cannot open /dev/urandom");
  ssize_t n = ::read(fd, raw, sizeof raw);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof raw)) return internal("short read from /dev/urandom");
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

template <class T, class Parse>
std::vector<T> loadAll(const fs::path& dir, Parse parse, std::vector<std::string>* errors) {
  std::vector<T> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto bytes = readFile(entry.path());
    Result<T> item = bytes.ok() ? parse(std::string(bytes->begin(), bytes->end()))
                                : Result<T>(bytes.error());
    if (item.ok()) {
      out.push_back(std::move(*item));
    } else if (errors) {
      errors->push_back(entry.path().string() + ": " + item.error().message());
    }
  }
  return out;
}

// One component of a path, and nothing a directory listing hides or a
// temporary file could be: letters, digits, '-', '_' and '.', not first.
bool plainFileName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

Result<fs::path> StateDir::entry(std::string_view sub, const std::string& name,
                                 std::string_view suffix) const {
  if (!plainFileName(name)) {
    return invalidArgument("'" + name + "' cannot name a file in the state dir's " +
                           std::string(sub) + "/");
  }
  return dir_ / sub / (name + std::string(suffix));
}

constexpr const char* kSubdirs[] = {"functions", "workflows", "modules", "images", "secrets",
                                     "secret-views", "async", "spool"};

Result<std::unique_ptr<StateDir>> StateDir::open(const fs::path& dir) {
  for (const char* sub : kSubdirs) {
    std::error_code ec;
    fs::create_directories(dir / sub, ec);
    if (ec) return invalidArgument("state dir " + (dir / sub).string() + ": " + ec.message());
  }
  ::chmod(dir.c_str(), 0700);
  ::chmod((dir / "secrets").c_str(), 0700);
  // A write cut short (kill -9, a full disk) leaves its temporary file.
  for (const char* sub : kSubdirs) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir / sub, ec)) {
      if (entry.path().filename().string().find(".tmp.") != std::string::npos) {
        fs::remove(entry.path(), ec);
      }
    }
  }
  // The spool's files have no name once written; one that kept it was cut
  // short between the two.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / "spool", ec)) fs::remove(entry.path(), ec);
  return std::unique_ptr<StateDir>(new StateDir(dir));
}

fs::path StateDir::modulePath(const std::string& stored) const {
  // Records name modules relative to the state dir; older ones by an absolute
  // path, whose content-addressed file name is still good wherever the dir went.
  const fs::path p(stored);
  return p.is_absolute() ? dir_ / "modules" / p.filename() : dir_ / p;
}

Result<std::string> StateDir::token(const std::string& configured) {
  if (!configured.empty()) return configured;
  const fs::path file = dir_ / "token";
  if (auto bytes = readFile(file); bytes.ok()) {
    std::string t(bytes->begin(), bytes->end());
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (!t.empty()) return t;
  }
  TRY_ASSIGN(std::string t, randomToken());
  TRY(writeFileAtomic(file, bytesOf(t + "\n")));
  ::chmod(file.c_str(), 0600);
  return t;
}

Result<StateDir::StoredModule> StateDir::storeModule(std::span<const uint8_t> bytes) {
  const bool binary = bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 'a' && bytes[2] == 's' &&
                      bytes[3] == 'm';
  StoredModule m;
  m.digest = sha256Hex(bytes);
  m.path = fs::path("modules") / (m.digest + (binary ? ".wasm" : ".wat"));
  std::error_code ec;
  if (!fs::exists(dir_ / m.path, ec)) TRY(writeFileAtomic(dir_ / m.path, bytes));
  return m;
}

void StateDir::collectModules(const std::set<std::string>& in_use) {
  std::set<fs::path> keep;
  for (const auto& m : in_use) keep.insert(modulePath(m));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ / "modules", ec)) {
    if (!keep.contains(entry.path())) fs::remove(entry.path(), ec);
  }
  for (const auto& entry : fs::directory_iterator(dir_ / "images", ec)) {
    const std::string digest = "sha256:" + entry.path().stem().string();
    if (!pulledModule(digest)) fs::remove(entry.path(), ec);
  }
}

namespace {
// "sha256:<hex>" → "images/<hex>.json"; empty for anything else (no path
// outside the dir from a digest a registry gave).
fs::path imageRecord(const std::string& digest) {
  if (digest.size() != 71 || digest.rfind("sha256:", 0) != 0) return {};
  const std::string hex = digest.substr(7);
  if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) return {};
  return fs::path("images") / (hex + ".json");
}
}  // namespace

Result<void> StateDir::rememberPull(const std::string& image_digest, const StoredModule& module) {
  const fs::path record = imageRecord(image_digest);
  if (record.empty()) return invalidArgument("bad image digest '" + image_digest + "'");
  const nlohmann::json j = {{"digest", image_digest},
                            {"storedModule", module.path.string()},
                            {"moduleDigest", module.digest}};
  return writeFileAtomic(dir_ / record, bytesOf(j.dump(2)));
}

std::optional<fs::path> StateDir::pulledModule(const std::string& image_digest) const {
  const fs::path record = imageRecord(image_digest);
  if (record.empty()) return std::nullopt;
  auto bytes = readFile(dir_ / record);
  if (!bytes.ok()) return std::nullopt;
  const auto j = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (!j.is_object() || !j.contains("storedModule") || !j["storedModule"].is_string()) {
    return std::nullopt;
  }
  const fs::path module = modulePath(j["storedModule"].get<std::string>());
  // Only a module of this dir's modules/ (a record is ours, but the dir is not sealed).
  if (module.parent_path() != dir_ / "modules") return std::nullopt;
  std::error_code ec;
  if (!fs::is_regular_file(module, ec)) return std::nullopt;
  return module;
}

Result<void> StateDir::saveFunction(const Deployment& d) {
  TRY_ASSIGN(fs::path file, entry("functions", d.name, ".json"));
  return writeFileAtomic(file, bytesOf(toJson(d).dump(2)));
}

Result<void> StateDir::removeFunction(const std::string& name) {
  TRY_ASSIGN(fs::path file, entry("functions", name, ".json"));
  std::error_code ec;
  fs::remove(file, ec);
  return {};
}

std::vector<Deployment> StateDir::loadFunctions(std::vector<std::string>* errors) {
  return loadAll<Deployment>(
      dir_ / "functions",
      [](const std::string& text) -> Result<Deployment> {
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded()) return invalidArgument("not JSON");
        return parseDeployment(j);
      },
      errors);
}

std::vector<std::string> StateDir::secretNames() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ / "secrets", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp.") == std::string::npos) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool StateDir::hasSecret(const std::string& name) const {
  auto file = entry("secrets", name);
  std::error_code ec;
  return file.ok() && fs::is_regular_file(*file, ec);
}

Result<void> StateDir::saveSecret(const std::string& name, std::span<const uint8_t> value) {
  TRY_ASSIGN(fs::path file, entry("secrets", name));
  return writeFileAtomic(file, value, 0600);
}

Result<void> StateDir::removeSecret(const std::string& name) {
  TRY_ASSIGN(fs::path file, entry("secrets", name));
  std::error_code ec;
  fs::remove(file, ec);
  if (ec) return errnoError("cannot remove " + file.string(), ec.value());
  return {};
}

Result<fs::path> StateDir::writeSecretView(const std::string& function,
                                           const std::vector<std::string>& names) {
  TRY_ASSIGN(const fs::path view, entry("secret-views", function));
  std::error_code ec;
  fs::create_directories(view, ec);
  if (ec) return errnoError("cannot create " + view.string(), ec.value());
  for (const auto& name : names) {
    TRY_ASSIGN(fs::path secret, entry("secrets", name));
    TRY_ASSIGN(std::vector<uint8_t> value, readFile(secret));
    TRY(writeFileAtomic(view / name, value, 0400));
  }
  for (const auto& entry : fs::directory_iterator(view, ec)) {
    const std::string file = entry.path().filename().string();
    if (std::find(names.begin(), names.end(), file) == names.end()) fs::remove(entry.path(), ec);
  }
  return view;
}

Result<void> StateDir::removeSecretView(const std::string& function) {
  TRY_ASSIGN(fs::path view, entry("secret-views", function));
  std::error_code ec;
  fs::remove_all(view, ec);
  return {};
}

Result<void> StateDir::saveWorkflow(const Workflow& w) {
  TRY_ASSIGN(fs::path file, entry("workflows", w.name, ".json"));
  return writeFileAtomic(file, bytesOf(toJson(w).dump(2)));
}

Result<void> StateDir::removeWorkflow(const std::string& name) {
  TRY_ASSIGN(fs::path file, entry("workflows", name, ".json"));
  std::error_code ec;
  fs::remove(file, ec);
  return {};
}

std::vector<Workflow> StateDir::loadWorkflows(std::vector<std::string>* errors) {
  return loadAll<Workflow>(
      dir_ / "workflows", [](const std::string& text) { return parseWorkflow(text); }, errors);
}

Result<void> StateDir::saveAsyncCall(const std::string& id, std::span<const uint8_t> record) {
  TRY_ASSIGN(fs::path file, entry("async", id, ".json"));
  return writeFileAtomic(file, record);
}

void StateDir::removeAsyncCall(const std::string& id) {
  auto file = entry("async", id, ".json");
  std::error_code ec;
  if (file.ok()) fs::remove(*file, ec);
}

std::vector<std::vector<uint8_t>> StateDir::loadAsyncCalls(std::vector<std::string>* errors) const {
  std::vector<std::pair<std::pair<fs::file_time_type, std::string>, fs::path>> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ / "async", ec)) {
    if (e.path().extension() != ".json") continue;
    files.push_back({{e.last_write_time(ec), e.path().filename().string()}, e.path()});
  }
  std::sort(files.begin(), files.end());  // in the order they were accepted
  std::vector<std::vector<uint8_t>> out;
  for (const auto& [order, path] : files) {
    auto bytes = readFile(path);
    if (bytes.ok()) {
      out.push_back(std::move(*bytes));
    } else if (errors) {
      errors->push_back(path.string() + ": " + bytes.error().message());
    }
  }
  return out;
}

}  // namespace cwasi::node
