// The guest ABI's constants on the host side. They mirror sdk/c/cwasi.h
// (a test checks that the two agree).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cwasi::runtime::abi {

// The version the host implements; it serves guests built against any
// version up to it (a version only adds imports). 2 added
// cwasi.response_status and cwasi.response_header; 3 cwasi.http_request.
inline constexpr int32_t kVersion = 3;
inline constexpr std::string_view kModule = "cwasi";

// Status codes returned to guests.
inline constexpr int32_t kOk = 0;
inline constexpr int32_t kErrUnknownTarget = 1;
inline constexpr int32_t kErrUnavailable = 2;
inline constexpr int32_t kErrTimeout = 3;
inline constexpr int32_t kErrTooLarge = 4;
inline constexpr int32_t kErrInvalidArgument = 5;
inline constexpr int32_t kErrInternal = 6;
inline constexpr int32_t kErrFunctionFailed = 7;
inline constexpr int32_t kErrUnsupported = 8;
// Version 3 (cwasi.http_request): the destination is not granted; the
// destination could not be reached (lookup failed, refused, reset).
inline constexpr int32_t kErrDenied = 9;
inline constexpr int32_t kErrConnect = 10;

// Limits of cwasi.response_header (the SDK header repeats them; the host
// enforces them in ResponseHead).
inline constexpr size_t kMaxResponseHeaders = 64;
inline constexpr size_t kMaxResponseHeaderBytes = 16u << 10;

// Exports of a reactor function.
inline constexpr std::string_view kAllocExport = "cwasi_alloc";
inline constexpr std::string_view kHandleExport = "cwasi_handle";

}  // namespace cwasi::runtime::abi
