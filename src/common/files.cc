#include "cwasi/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace cwasi {
namespace fs = std::filesystem;

namespace {
// Closes an fd on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

Result<std::vector<uint8_t>> readFile(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoError("cannot open " + path.string(), errno);
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errnoError("cannot stat " + path.string(), errno);
  if (S_ISDIR(st.st_mode)) return invalidArgument(path.string() + " is a directory, not a file");
  std::vector<uint8_t> data;
  if (S_ISREG(st.st_mode)) data.reserve(static_cast<size_t>(st.st_size));
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoError("cannot read " + path.string(), errno);
    }
    if (n == 0) break;
    data.insert(data.end(), buf, buf + n);
  }
  return data;
}

Result<std::vector<uint8_t>> readRegularFile(const fs::path& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errnoError("cannot open " + path.string(), errno);
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errnoError("cannot stat " + path.string(), errno);
  if (!S_ISREG(st.st_mode)) return invalidArgument(path.string() + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return resourceExhausted(path.string() + " is larger than " + std::to_string(max_bytes) +
                             " bytes");
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoError("cannot read " + path.string(), errno);
    if (n == 0) break;  // it shrank meanwhile
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return data;
}

Result<void> writeFileAtomic(const fs::path& path, std::span<const uint8_t> data, unsigned mode) {
  std::string tmpl = path.string() + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return errnoError("cannot create temporary file for " + path.string(), errno);
  FdCloser closer{fd};
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::unlink(tmpl.c_str());
      return errnoError("cannot write " + tmpl, err);
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0 || ::fsync(fd) != 0 || ::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return errnoError("cannot publish " + path.string(), err);
  }
  return {};
}

Result<Fd> writeUnlinkedFile(const fs::path& dir, std::string_view bytes) {
  Fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd.valid() && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string tmpl = (dir / "cwasi-XXXXXX").string();
    fd = Fd(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (fd.valid()) ::unlink(tmpl.c_str());
  }
  if (!fd.valid()) return errnoError("cannot create a file in " + dir.string(), errno);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errnoError("cannot write to " + dir.string(), n < 0 ? errno : ENOSPC);
    done += static_cast<size_t>(n);
  }
  return fd;
}

Result<fs::path> makeTempDir(std::string_view prefix) {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string tmpl = (base / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return errnoError("cannot create temp dir", errno);
  return fs::path(tmpl);
}

}  // namespace cwasi
