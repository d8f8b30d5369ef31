#![cfg_attr(target_os = "wasi", allow(dead_code))]
//! The native builds' HTTP: the server that serves a function as OpenFaaS's
//! of-watchdog would (`POST /` runs it, `GET /_/health` answers 200), and a
//! minimal HTTP/1.1 client for user-manager's outbound calls. std::net only,
//! one request per connection, one thread per connection, bounded sizes.
//! On wasm32-wasi neither exists: a Wasm function is a command.

use crate::Handler;
#[cfg(not(target_os = "wasi"))]
use crate::Error;

/// The largest request body either mode accepts.
pub const MAX_BODY: usize = 8 << 20;
/// The largest request/response head (request line and headers).
pub const MAX_HEAD: usize = 16 << 10;

/// An HTTP response as a client sees it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Splits a message at its blank line: (head, the bytes after it), once the
/// head is complete.
fn split_head(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (&buf[..i], &buf[i + 4..]))
}

/// The value of header `name` (case-insensitive) in a head's lines.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        if k.trim().eq_ignore_ascii_case(name) {
            Some(v.trim())
        } else {
            None
        }
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(not(target_os = "wasi"))]
pub use native::{request, serve};

#[cfg(target_os = "wasi")]
pub fn serve(_addr: &str, _handler: Handler) -> std::io::Result<()> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported,
                            "--listen is for native builds; a Wasm function is a command"))
}

#[cfg(not(target_os = "wasi"))]
mod native {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream, ToSocketAddrs};
    use std::time::Duration;

    const IO_TIMEOUT: Duration = Duration::from_secs(60);

    /// Serves `handler` on `addr` until the process ends. Prints
    /// "listening on ADDR" (the bound address: port 0 picks one) to stdout.
    pub fn serve(addr: &str, handler: Handler) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr)?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        for stream in listener.incoming() {
            match stream {
                Ok(s) => {
                    std::thread::spawn(move || connection(s, handler));
                }
                Err(e) => eprintln!("accept: {}", e),
            }
        }
        Ok(())
    }

    fn write_response(s: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) {
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            status, reason(status), content_type, body.len());
        let _ = s.write_all(head.as_bytes()).and_then(|_| s.write_all(body)).and_then(|_| s.flush());
    }

    fn error(s: &mut TcpStream, status: u16, message: &str) {
        let body = format!("{}\n", serde_json::json!({ "error": message }));
        write_response(s, status, "application/json", body.as_bytes());
    }

    fn connection(mut s: TcpStream, handler: Handler) {
        let _ = s.set_read_timeout(Some(IO_TIMEOUT));
        let _ = s.set_write_timeout(Some(IO_TIMEOUT));
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let (head, mut body) = loop {
            if let Some((h, rest)) = split_head(&buf) {
                break (String::from_utf8_lossy(h).into_owned(), rest.to_vec());
            }
            if buf.len() > MAX_HEAD {
                return error(&mut s, 431, "the request head is too large");
            }
            match s.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(_) => return error(&mut s, 408, "the request did not arrive in time"),
            }
        };
        let mut parts = head.split("\r\n").next().unwrap_or("").split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let path = target.split('?').next().unwrap_or("");
        if path == "/_/health" {
            return if method == "GET" || method == "HEAD" {
                write_response(&mut s, 200, "text/plain", b"OK\n")
            } else {
                error(&mut s, 405, "use GET")
            };
        }
        if path.starts_with("/_/") {
            return error(&mut s, 404, "no such path");
        }
        if method != "POST" && method != "GET" {
            return error(&mut s, 405, "use POST (or GET for the defaults)");
        }
        if header(&head, "transfer-encoding").is_some() {
            return error(&mut s, 411, "send a Content-Length, not a chunked body");
        }
        let length = match header(&head, "content-length").map(|v| v.parse::<usize>()) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return error(&mut s, 400, "bad Content-Length"),
        };
        if length > MAX_BODY {
            return error(&mut s, 413, "the request is too large");
        }
        while body.len() < length {
            match s.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
                Err(_) => return error(&mut s, 408, "the request did not arrive in time"),
            }
        }
        body.truncate(length);
        let (status, out) = crate::respond(handler, &body);
        write_response(&mut s, status, "application/json", &out);
    }

    /// One HTTP/1.1 request to an `http://HOST:PORT/PATH` URL (no TLS), with
    /// `Connection: close`; a body of at most MAX_BODY bytes comes back.
    pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8])
                   -> crate::Result<Response> {
        let rest = url.strip_prefix("http://")
            .ok_or_else(|| Error::invalid(format!("{}: only http:// URLs", url)))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let unavailable = |e: std::io::Error| Error::unavailable(format!("{}: {}", url, e));
        let addr = host.to_socket_addrs().map_err(unavailable)?.next()
            .ok_or_else(|| Error::unavailable(format!("{}: no address", host)))?;
        let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(unavailable)?;
        s.set_read_timeout(Some(IO_TIMEOUT)).map_err(unavailable)?;
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
                               method, path, host, body.len());
        for (k, v) in headers {
            head.push_str(&format!("{}: {}\r\n", k, v));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).and_then(|_| s.write_all(body)).map_err(unavailable)?;
        let mut buf = Vec::new();
        s.take((MAX_HEAD + MAX_BODY) as u64 + 1).read_to_end(&mut buf).map_err(unavailable)?;
        let bad = || Error { status: 502, message: format!("{}: not an HTTP response", url) };
        let (h, rest) = split_head(&buf).ok_or_else(bad)?;
        let h = String::from_utf8_lossy(h);
        let status = h.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok()).ok_or_else(bad)?;
        if header(&h, "transfer-encoding").map_or(false, |v| v.eq_ignore_ascii_case("chunked")) {
            return Err(Error { status: 502, message: format!("{}: chunked responses are not supported", url) });
        }
        let mut body = rest.to_vec();
        if let Some(n) = header(&h, "content-length").and_then(|v| v.parse::<usize>().ok()) {
            body.truncate(n);
        }
        if body.len() > MAX_BODY {
            return Err(Error { status: 502, message: format!("{}: response too large", url) });
        }
        Ok(Response { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_headers_case_insensitively() {
        let head = "POST / HTTP/1.1\r\nHost: x\r\ncontent-LENGTH: 12";
        assert_eq!(header(head, "Content-Length"), Some("12"));
        assert_eq!(header(head, "Transfer-Encoding"), None);
    }
}
