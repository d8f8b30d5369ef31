#include "archive.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>
#include <utility>

namespace cwasi::oci {
namespace {

constexpr size_t kBlock = 512;

// Octal (or base-256, for large GNU sizes) numeric header field.
Result<uint64_t> parseNumber(const uint8_t* field, size_t len, const char* what) {
  if (len > 0 && (field[0] & 0x80) != 0) {
    uint64_t v = field[0] & 0x7f;
    for (size_t i = 1; i < len; ++i) {
      if (v > (UINT64_MAX >> 8)) return invalidArgument(std::string("tar: ") + what + " too large");
      v = (v << 8) | field[i];
    }
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < len && (field[i] == ' ' || field[i] == 0)) ++i;
  for (; i < len && field[i] != 0 && field[i] != ' '; ++i) {
    if (field[i] < '0' || field[i] > '7') {
      return invalidArgument(std::string("tar: bad ") + what + " field");
    }
    if (v > (UINT64_MAX >> 3)) return invalidArgument(std::string("tar: ") + what + " too large");
    v = v * 8 + (field[i] - '0');
  }
  return v;
}

std::string field(const uint8_t* p, size_t len) {
  size_t n = 0;
  while (n < len && p[n] != 0) ++n;
  return std::string(reinterpret_cast<const char*>(p), n);
}

// "./a/b" and "a/b/" both become "a/b"; absolute paths, ".." and NUL are refused.
Result<std::string> cleanPath(std::string path) {
  while (path.rfind("./", 0) == 0) path.erase(0, 2);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.empty() || path == ".") return std::string();
  if (path[0] == '/') return invalidArgument("tar: absolute path " + path);
  // Only a PAX record can carry one; a file name never holds it (and would
  // be cut there by every system call).
  if (path.find('\0') != std::string::npos) return invalidArgument("tar: a path holds a NUL byte");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0) {
      return invalidArgument("tar: path escapes the archive: " + path);
    }
    start = end + 1;
  }
  return path;
}

// PAX extended header records: "LEN key=value\n", LEN counting the whole
// record in decimal. A malformed record ends the list (a length that is not
// a number, or that does not cover the record, must not move us backwards).
std::string paxPath(std::span<const uint8_t> data) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  std::string path;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t space = text.find(' ', pos);
    if (space == std::string_view::npos || space == pos || space - pos > 9) break;
    size_t len = 0;
    for (size_t i = pos; i < space; ++i) {
      if (text[i] < '0' || text[i] > '9') return path;
      len = len * 10 + static_cast<size_t>(text[i] - '0');
    }
    // At least the length, the space and the newline.
    if (len < space - pos + 2 || len > text.size() - pos || text[pos + len - 1] != '\n') break;
    const std::string_view record = text.substr(space + 1, pos + len - space - 2);
    if (record.starts_with("path=")) path = std::string(record.substr(5));
    pos += len;
  }
  return path;
}

void putOctal(uint8_t* p, size_t len, uint64_t v) {
  // len-1 digits and a NUL.
  std::memset(p, '0', len - 1);
  p[len - 1] = 0;
  for (size_t i = len - 1; i-- > 0 && v != 0; v >>= 3) p[i] = static_cast<uint8_t>('0' + (v & 7));
}

// A gzip stream inflated piece by piece.
class Inflater {
 public:
  explicit Inflater(std::span<const uint8_t> in) {
    z_.next_in = const_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
    ok_ = inflateInit2(&z_, 15 + 16) == Z_OK;
  }
  ~Inflater() {
    if (ok_) inflateEnd(&z_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  bool ended() const { return ended_; }
  // Up to out.size() more bytes; 0 only at the end of the stream.
  Result<size_t> inflateInto(std::span<uint8_t> out) {
    if (!ok_) return internal("gzip: inflateInit failed");
    size_t produced = 0;
    while (produced < out.size() && !ended_) {
      const size_t chunk = std::min<size_t>(out.size() - produced, UINT32_MAX);
      z_.next_out = out.data() + produced;
      z_.avail_out = static_cast<uInt>(chunk);
      int rc = inflate(&z_, Z_NO_FLUSH);
      produced += chunk - z_.avail_out;
      if (rc == Z_STREAM_END) ended_ = true;
      if (rc == Z_BUF_ERROR && z_.avail_in == 0) rc = Z_DATA_ERROR;  // input ended early
      if (rc != Z_OK && rc != Z_STREAM_END) {
        return invalidArgument(std::string("gzip: corrupt data (") + (z_.msg ? z_.msg : "truncated") +
                               ")");
      }
    }
    return produced;
  }

 private:
  z_stream z_{};
  bool ok_ = false;
  bool ended_ = false;
};

}  // namespace

// The archive's bytes in order, inflated when gzip'd, counted against the cap.
class TarReader::Stream {
 public:
  Stream(std::span<const uint8_t> bytes, uint64_t max_bytes) : bytes_(bytes), max_(max_bytes) {
    if (isGzip(bytes)) inflater_.emplace(bytes);
  }

  // Up to n more bytes, fewer only at the end of the archive.
  Result<std::span<const uint8_t>> read(uint64_t n) {
    TRY(admit(n));
    if (!inflater_) {
      const size_t got = std::min<uint64_t>(n, bytes_.size() - pos_);
      pos_ += got;
      return bytes_.subspan(pos_ - got, got);
    }
    buf_.resize(n);
    TRY_ASSIGN(size_t got, inflater_->inflateInto(buf_));
    return std::span<const uint8_t>(buf_.data(), got);
  }

  // Passes over n bytes; false when the archive ends first.
  Result<bool> skip(uint64_t n) {
    TRY(admit(n));
    if (!inflater_) {
      const size_t got = std::min<uint64_t>(n, bytes_.size() - pos_);
      pos_ += got;
      return got == n;
    }
    std::array<uint8_t, 64 * 1024> scratch;
    while (n > 0) {
      TRY_ASSIGN(size_t got, inflater_->inflateInto(std::span(scratch).first(
                                 std::min<uint64_t>(n, scratch.size()))));
      if (got == 0) return false;
      n -= got;
    }
    return true;
  }

 private:
  Result<void> admit(uint64_t n) {
    if (n > max_ - read_) {
      return resourceExhausted(inflater_ ? "gzip: expands past " + std::to_string(max_) + " bytes"
                                         : "tar: contents exceed " + std::to_string(max_) + " bytes");
    }
    read_ += n;
    return {};
  }

  const std::span<const uint8_t> bytes_;
  const uint64_t max_;
  uint64_t read_ = 0;  // what reads and skips took, admitted against max_
  size_t pos_ = 0;     // in bytes_, when not gzip'd
  std::optional<Inflater> inflater_;
  std::vector<uint8_t> buf_;
};

TarReader::TarReader(std::span<const uint8_t> bytes, uint64_t max_bytes)
    : stream_(std::make_unique<Stream>(bytes, max_bytes)) {}

TarReader::~TarReader() = default;

Result<std::span<const uint8_t>> TarReader::read(uint64_t n) {
  TRY_ASSIGN(auto got, stream_->read(n));
  if (got.size() < n) return invalidArgument("tar: truncated archive");
  return got;
}

Result<void> TarReader::skipPending() {
  const uint64_t n = std::exchange(pending_, 0);
  pending_data_ = 0;
  TRY_ASSIGN(bool whole, stream_->skip(n));
  if (!whole) return invalidArgument("tar: truncated archive");
  return {};
}

Result<std::optional<TarHeader>> TarReader::next() {
  TRY(skipPending());
  std::string long_name;
  for (;;) {
    TRY_ASSIGN(auto block, stream_->read(kBlock));
    // The end marker; or, as tar itself allows, no end marker at all.
    if (block.size() < kBlock || std::all_of(block.begin(), block.end(), [](uint8_t b) { return b == 0; })) {
      return std::optional<TarHeader>();
    }
    uint8_t h[kBlock];
    std::memcpy(h, block.data(), kBlock);
    uint64_t sum = 0;
    for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    TRY_ASSIGN(uint64_t stored_sum, parseNumber(h + 148, 8, "checksum"));
    if (sum != stored_sum) return invalidArgument("tar: header checksum mismatch (not a tar file?)");
    TRY_ASSIGN(uint64_t size, parseNumber(h + 124, 12, "size"));
    TRY_ASSIGN(uint64_t mode, parseNumber(h + 100, 8, "mode"));
    if (size > (uint64_t{1} << 62)) return invalidArgument("tar: size too large");
    const uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
    const char type = h[156] == 0 ? '0' : static_cast<char>(h[156]);
    if (type == 'x' || type == 'L') {  // the next entry's long name
      TRY_ASSIGN(auto data, read(size));
      long_name = type == 'x' ? paxPath(data) : field(data.data(), data.size());
      pending_ = padded - size;
      TRY(skipPending());
      continue;
    }
    pending_ = padded;
    if (type == 'g') {  // global PAX header
      TRY(skipPending());
      continue;
    }
    std::string name = field(h, 100);
    if (std::memcmp(h + 257, "ustar", 5) == 0) {
      std::string prefix = field(h + 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    if (!long_name.empty()) name = std::move(long_name);
    long_name.clear();
    if (type != '0' && type != '7' && type != '5') {  // links, devices: not needed
      TRY(skipPending());
      continue;
    }
    TRY_ASSIGN(std::string path, cleanPath(name));
    if (path.empty()) {
      TRY(skipPending());
      continue;
    }
    pending_data_ = type == '5' ? 0 : size;
    return std::optional<TarHeader>(TarHeader{std::move(path), type == '5' ? '5' : '0', static_cast<uint32_t>(mode & 07777),
                     pending_data_});
  }
}

Result<std::span<const uint8_t>> TarReader::data() {
  TRY_ASSIGN(auto d, read(pending_data_));
  pending_ -= pending_data_;
  TRY(skipPending());
  return d;
}

Result<std::vector<TarEntry>> readTar(std::span<const uint8_t> bytes, uint64_t max_bytes) {
  TarReader reader(bytes, max_bytes);
  std::vector<TarEntry> entries;
  for (;;) {
    TRY_ASSIGN(std::optional<TarHeader> h, reader.next());
    if (!h) return entries;
    TRY_ASSIGN(auto data, reader.data());
    entries.push_back({std::move(h->path), h->type, h->mode, {data.begin(), data.end()}});
  }
}

Result<std::vector<uint8_t>> writeTar(const std::vector<TarEntry>& entries) {
  std::vector<uint8_t> out;
  for (const TarEntry& e : entries) {
    uint8_t h[kBlock] = {};
    std::string name = e.path, prefix;
    if (e.type == '5') name += '/';
    if (name.size() > 100) {
      size_t cut = name.rfind('/', name.size() - 2);
      while (cut != std::string::npos && name.size() - cut - 1 > 100) {
        cut = cut == 0 ? std::string::npos : name.rfind('/', cut - 1);  // rfind from npos: the end
      }
      if (cut == std::string::npos || cut > 155) return invalidArgument("tar: path too long: " + name);
      prefix = name.substr(0, cut);
      name = name.substr(cut + 1);
    }
    std::memcpy(h, name.data(), name.size());
    putOctal(h + 100, 8, e.mode);
    putOctal(h + 108, 8, 0);
    putOctal(h + 116, 8, 0);
    putOctal(h + 124, 12, e.type == '5' ? 0 : e.data.size());
    putOctal(h + 136, 12, 0);
    h[156] = static_cast<uint8_t>(e.type);
    std::memcpy(h + 257, "ustar\0" "00", 8);
    std::memcpy(h + 345, prefix.data(), prefix.size());
    std::memset(h + 148, ' ', 8);
    uint64_t sum = 0;
    for (uint8_t b : h) sum += b;
    putOctal(h + 148, 7, sum);
    h[155] = ' ';
    out.insert(out.end(), h, h + kBlock);
    if (e.type != '5') {
      out.insert(out.end(), e.data.begin(), e.data.end());
      out.resize(out.size() + (kBlock - e.data.size() % kBlock) % kBlock, 0);
    }
  }
  out.resize(out.size() + 2 * kBlock, 0);
  return out;
}

bool isGzip(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

Result<std::vector<uint8_t>> gunzip(std::span<const uint8_t> bytes, uint64_t max_bytes) {
  Inflater inflater(bytes);
  std::vector<uint8_t> out;
  while (!inflater.ended()) {
    if (out.size() >= max_bytes) {
      return resourceExhausted("gzip: expands past " + std::to_string(max_bytes) + " bytes");
    }
    const size_t old = out.size();
    out.resize(old + std::min<uint64_t>(std::max<size_t>(bytes.size() * 2, 64 * 1024), max_bytes - old));
    TRY_ASSIGN(size_t got, inflater.inflateInto(std::span(out).subspan(old)));
    out.resize(old + got);
  }
  return out;
}

std::vector<uint8_t> gzip(std::span<const uint8_t> bytes) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::vector<uint8_t> out(deflateBound(&z, bytes.size()) + 32);
  z.next_in = const_cast<Bytef*>(bytes.data());
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace cwasi::oci
