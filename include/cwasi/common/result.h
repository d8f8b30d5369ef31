// Errors as values: every fallible operation in cwasi returns Result<T>, a
// value or an Error. Error codes mirror gRPC's so that the shim (ttrpc) and the
// gateway (HTTP) each map them to their protocol in one place.
#pragma once

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace cwasi {

enum class Code {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// The gRPC name of a code ("INVALID_ARGUMENT"...), for logs and JSON errors.
std::string_view codeName(Code code);

class Error {
 public:
  Error(Code code, std::string message) : code_(code), message_(std::move(message)) {
    assert(code != Code::kOk);
  }

  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The errno of the failed system call behind it (errnoError), or 0: what
  // tells a full disk (ENOSPC) from other exhausted resources.
  int osError() const { return os_error_; }
  Error withOsError(int err) && {
    os_error_ = err;
    return std::move(*this);
  }

  // Returns a copy whose message is "<context>: <message>", keeping the code.
  Error withContext(std::string_view context) const {
    Error e(code_, std::string(context) + ": " + message_);
    e.os_error_ = os_error_;
    return e;
  }

  // "<CODE_NAME>: <message>", for logs.
  std::string toString() const;

 private:
  Code code_;
  std::string message_;
  int os_error_ = 0;
};

// Shorthands used at every call site that builds an error.
inline Error invalidArgument(std::string m) { return Error(Code::kInvalidArgument, std::move(m)); }
inline Error notFound(std::string m) { return Error(Code::kNotFound, std::move(m)); }
inline Error alreadyExists(std::string m) { return Error(Code::kAlreadyExists, std::move(m)); }
inline Error failedPrecondition(std::string m) {
  return Error(Code::kFailedPrecondition, std::move(m));
}
inline Error permissionDenied(std::string m) {
  return Error(Code::kPermissionDenied, std::move(m));
}
inline Error resourceExhausted(std::string m) {
  return Error(Code::kResourceExhausted, std::move(m));
}
inline Error deadlineExceeded(std::string m) {
  return Error(Code::kDeadlineExceeded, std::move(m));
}
inline Error unavailable(std::string m) { return Error(Code::kUnavailable, std::move(m)); }
inline Error internal(std::string m) { return Error(Code::kInternal, std::move(m)); }
inline Error aborted(std::string m) { return Error(Code::kAborted, std::move(m)); }
inline Error cancelled(std::string m) { return Error(Code::kCancelled, std::move(m)); }
inline Error unimplemented(std::string m) { return Error(Code::kUnimplemented, std::move(m)); }
inline Error dataLoss(std::string m) { return Error(Code::kDataLoss, std::move(m)); }
inline Error unauthenticated(std::string m) {
  return Error(Code::kUnauthenticated, std::move(m));
}
// An Error from errno after a failed system call: "<what>: <strerror>".
Error errnoError(std::string_view what, int err);

// A value of type T or an Error. Result<void> carries only success or Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  void check() const {
    if (!ok()) {
      // Using a value that is not there is a bug in the caller, not an input error.
      std::fprintf(stderr, "cwasi: fatal: value() on error result: %s\n",
                   std::get<1>(v_).toString().c_str());
      std::abort();
    }
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    assert(!ok_);
    return error_;
  }
  Error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_{Code::kUnknown, ""};
  bool ok_ = true;
};

inline Result<void> okResult() { return {}; }

}  // namespace cwasi

#define CWASI_CONCAT_INNER(a, b) a##b
#define CWASI_CONCAT(a, b) CWASI_CONCAT_INNER(a, b)

// TRY(expr): evaluates a Result<void>-like expression; returns its error.
#define TRY(expr)                                             \
  do {                                                        \
    auto&& cwasi_try_result_ = (expr);                        \
    if (!cwasi_try_result_.ok()) return std::move(cwasi_try_result_).error(); \
  } while (0)

// TRY_ASSIGN(decl, expr): `decl = std::move(*expr)` or return its error.
#define TRY_ASSIGN(decl, expr) TRY_ASSIGN_IMPL(CWASI_CONCAT(cwasi_try_, __LINE__), decl, expr)
#define TRY_ASSIGN_IMPL(tmp, decl, expr)         \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return std::move(tmp).error();  \
  decl = std::move(tmp).value()
