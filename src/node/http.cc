#include "cwasi/node/http.h"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <strings.h>

#include "cwasi/common/log.h"
#include "cwasi/common/net.h"

namespace cwasi::node {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;
constexpr uint32_t kHeaderLimit = 64 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string findHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

// Reads what is there (at least one byte), waiting up to `deadline`.
// 0 means the peer closed.
Result<size_t> recvSome(int fd, std::string& buffer, Clock::time_point deadline) {
  // Received into scratch space first: growing `buffer` by a whole chunk
  // would zero-fill it on every read.
  thread_local std::array<char, kReadChunk> scratch;
  for (;;) {
    ssize_t n = ::recv(fd, scratch.data(), scratch.size(), 0);
    if (n >= 0) {
      buffer.append(scratch.data(), static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return 0;  // reset: treat as closed
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return deadlineExceeded("timed out waiting for data");
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
  }
}

// Feeds `buffer` to `parser` until a message is complete. Consumed bytes are
// erased; what follows the message stays in `buffer`.
template <class Parser>
Result<void> readMessage(int fd, std::string& buffer, Parser& parser, Clock::time_point deadline) {
  for (;;) {
    if (!buffer.empty()) {
      boost::system::error_code ec;
      size_t used = parser.put(boost::asio::buffer(buffer.data(), buffer.size()), ec);
      buffer.erase(0, used);
      if (ec == http::error::body_limit) return resourceExhausted("body too large");
      if (ec && ec != http::error::need_more) return invalidArgument("bad HTTP message: " + ec.message());
      if (parser.is_done()) return {};
      if (used > 0 && !ec) continue;
    }
    TRY_ASSIGN(size_t n, recvSome(fd, buffer, deadline));
    if (n == 0) {  // the peer closed: fine between messages, Unavailable within one
      boost::system::error_code ec;
      parser.put_eof(ec);
      if (!ec && parser.is_done()) return {};
      return unavailable("connection closed mid-message");
    }
  }
}

Result<void> sendString(int fd, const std::string& s, Clock::time_point deadline) {
  return net::sendAll(fd, {reinterpret_cast<const uint8_t*>(s.data()), s.size()}, deadline);
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const { return findHeader(headers, name); }
std::string HttpResponse::header(std::string_view name) const { return findHeader(headers, name); }

std::string HttpRequest::queryParam(std::string_view name) const {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t end = query.find('&', pos);
    if (end == std::string::npos) end = query.size();
    std::string_view pair(query.data() + pos, end - pos);
    size_t eq = pair.find('=');
    if (percentDecode(pair.substr(0, eq), true) == name) {
      return eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1), true);
    }
    pos = end + 1;
  }
  return {};
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::string percentDecode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string_view statusReason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
  }
}

Result<HttpUrl> parseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) == 0) {
    url.remove_prefix(kScheme.size());
  } else if (url.find("://") != std::string_view::npos) {
    return invalidArgument("only http:// URLs are supported: " + std::string(url));
  }
  HttpUrl out;
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) out.target = std::string(url.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    std::string port(authority.substr(colon + 1));
    char* end = nullptr;
    unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != 0 || p == 0 || p > 65535) {
      return invalidArgument("bad port in URL: " + std::string(url));
    }
    out.port = static_cast<uint16_t>(p);
  } else {
    out.host = std::string(authority);
  }
  if (out.host.empty()) return invalidArgument("no host in URL: " + std::string(url));
  return out;
}

Result<HttpResponse> httpFetch(const HttpUrl& url, std::string_view method, const Headers& headers,
                               std::string_view body, std::chrono::milliseconds timeout,
                               uint64_t max_body_bytes) {
  const auto deadline = Clock::now() + timeout;
  TRY_ASSIGN(Fd fd, net::connectTcp({url.host, url.port}, deadline));
  std::string req;
  req += method;
  req += ' ';
  req += url.target;
  req += " HTTP/1.1\r\nHost: " + url.host + ":" + std::to_string(url.port) +
         "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  req += body;
  TRY(sendString(fd.get(), req, deadline));
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes);
  parser.header_limit(kHeaderLimit);
  if (method == "HEAD") parser.skip(true);
  std::string buffer;
  TRY(readMessage(fd.get(), buffer, parser, deadline));
  auto& msg = parser.get();
  HttpResponse r;
  r.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg) {
    if (iequals(std::string_view(f.name_string().data(), f.name_string().size()), "Content-Type")) {
      r.content_type = std::string(f.value());
    } else {
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
  }
  r.body = std::move(msg.body());
  return r;
}

}  // namespace cwasi::node
