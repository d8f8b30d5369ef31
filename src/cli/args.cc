#include "args.h"

#include <charconv>

namespace cwasi::cli {

bool Args::nextIsFlag() {
  if (only_positional_ || pos_ >= args_.size()) return false;
  const std::string& a = args_[pos_];
  if (a == "--") {
    only_positional_ = true;
    ++pos_;
    return false;
  }
  return a.size() > 1 && a[0] == '-';
}

std::string Args::takeFlag() {
  std::string a = args_[pos_++];
  inline_value_.reset();
  if (auto eq = a.find('='); eq != std::string::npos) {
    inline_value_ = a.substr(eq + 1);
    a.resize(eq);
  }
  return a;
}

Result<std::string> Args::value(const std::string& flag) {
  if (inline_value_) {
    std::string v = std::move(*inline_value_);
    inline_value_.reset();
    return v;
  }
  if (pos_ >= args_.size()) return invalidArgument(flag + " needs a value");
  return args_[pos_++];
}

Result<uint64_t> Args::number(const std::string& flag) {
  TRY_ASSIGN(std::string v, value(flag));
  return parseNumber(v, flag);
}

Result<uint64_t> Args::ranged(const std::string& flag, uint64_t min, uint64_t max) {
  TRY_ASSIGN(uint64_t v, number(flag));
  if (v < min || v > max) {
    return invalidArgument(flag + " must be " + std::to_string(min) + ".." +
                           (max == UINT64_MAX ? std::string("") : std::to_string(max)) + ", got " +
                           std::to_string(v));
  }
  return v;
}

std::vector<std::string> Args::rest() const {
  return std::vector<std::string>(args_.begin() + static_cast<std::ptrdiff_t>(pos_), args_.end());
}

Result<uint64_t> parseNumber(const std::string& s, const std::string& what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return invalidArgument(what + " expects a non-negative number, got '" + s + "'");
  }
  return v;
}

Result<std::pair<std::string, std::string>> keyValue(const std::string& s, const std::string& flag) {
  const size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0) return invalidArgument(flag + " expects KEY=VALUE, got " + s);
  return std::make_pair(s.substr(0, eq), s.substr(eq + 1));
}

}  // namespace cwasi::cli
