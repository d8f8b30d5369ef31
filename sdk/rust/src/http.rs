//! Outbound HTTP (guest ABI version 3, import `cwasi.http_request`).
//!
//! Only a module that calls into this module imports `http_request`; hosts
//! of ABI version 2 refuse such a module at load time ("unknown import"),
//! and run every other module unchanged.
//!
//! ```ignore
//! let r = cwasi::http::HttpRequest::get("https://example.com/").header("Accept", "text/html").send()?;
//! assert_eq!(r.status, 200);
//! ```
//! Errors: `Denied` (the destination is not granted to this function),
//! `Connect` (DNS failure, refused, reset), `Timeout`, `TooLarge`,
//! `InvalidArgument` (a bad method, URL or header).

use std::ptr;
use std::time::Duration;

use crate::comm::millis;
use crate::error::Error;
use crate::{memory, sys};

/// An outbound request, built then sent with `send`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
}

/// What the destination answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    pub status: u16,
    /// In the order received, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: Duration::ZERO,
        }
    }

    pub fn get(url: impl Into<String>) -> HttpRequest {
        HttpRequest::new("GET", url)
    }

    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> HttpRequest {
        HttpRequest::new("POST", url).body(body)
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = body.into();
        self
    }

    /// At most this long for the whole exchange (zero: the host's default).
    pub fn timeout(mut self, timeout: Duration) -> HttpRequest {
        self.timeout = timeout;
        self
    }

    pub fn send(&self) -> Result<HttpResponse, Error> {
        let headers = encode_headers(&self.headers)?;
        let len = |n: usize| u32::try_from(n).map_err(|_| Error::TooLarge);
        let mut status: i32 = 0;
        let mut head: *mut u8 = ptr::null_mut();
        let mut head_len: u32 = 0;
        let mut body: *mut u8 = ptr::null_mut();
        let mut body_len: u32 = 0;
        // Safety: live slices in, out-pointers to locals.
        let rc = unsafe {
            sys::http_request(
                self.method.as_ptr(),
                len(self.method.len())?,
                self.url.as_ptr(),
                len(self.url.len())?,
                headers.as_ptr(),
                len(headers.len())?,
                self.body.as_ptr(),
                len(self.body.len())?,
                millis(self.timeout),
                &mut status,
                &mut head,
                &mut head_len,
                &mut body,
                &mut body_len,
            )
        };
        // Safety: the host placed both through cwasi_alloc (or left them null);
        // taken whatever the status, so nothing leaks.
        let head = unsafe { memory::take_host_buffer(head, head_len) };
        let body = unsafe { memory::take_host_buffer(body, body_len) };
        if rc != sys::OK {
            return Err(Error::from_code(rc, body));
        }
        Ok(HttpResponse { status: u16::try_from(status).unwrap_or(0), headers: decode_headers(&head), body })
    }
}

impl HttpResponse {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8.
    pub fn text(&self) -> Result<&str, Error> {
        Ok(std::str::from_utf8(&self.body)?)
    }
}

/// `method url` with `headers` and `body`; the host's default timeout.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<HttpResponse, Error> {
    let mut r = HttpRequest::new(method, url).body(body);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send()
}

/// GET `url`.
pub fn get(url: &str) -> Result<HttpResponse, Error> {
    HttpRequest::get(url).send()
}

/// "Name: value" lines separated by "\n". A name with ':' or whitespace, or
/// any CR or LF, would change the lines' meaning: refused here.
fn encode_headers(headers: &[(String, String)]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for (i, (k, v)) in headers.iter().enumerate() {
        let bad_name = k.is_empty() || k.bytes().any(|c| c == b':' || c.is_ascii_whitespace() || c.is_ascii_control());
        if bad_name || v.bytes().any(|c| c == b'\r' || c == b'\n') {
            return Err(Error::InvalidArgument.context(format_args!("request header {:?}", k)));
        }
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
    }
    Ok(out)
}

/// "Name: value\n" lines (a CR before the LF tolerated) into pairs.
fn decode_headers(text: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(text)
        .split('\n')
        .filter_map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (k, v) = line.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_lines_separated_by_newlines() {
        let h = vec![("Accept".to_string(), "text/html".to_string()), ("X-A".to_string(), "b: c".to_string())];
        assert_eq!(encode_headers(&h).unwrap(), b"Accept: text/html\nX-A: b: c".to_vec());
        assert_eq!(encode_headers(&[]).unwrap(), b"".to_vec());
    }

    #[test]
    fn header_injection_is_refused() {
        let evil = vec![("X".to_string(), "a\nHost: evil".to_string())];
        assert!(encode_headers(&evil).is_err());
        let name = vec![("Bad Name".to_string(), "v".to_string())];
        assert!(encode_headers(&name).is_err());
    }

    #[test]
    fn response_headers_are_parsed() {
        let h = decode_headers(b"Content-Type: text/plain\nSet-Cookie: a=1\r\nX-Empty:\n\n");
        assert_eq!(
            h,
            vec![
                ("Content-Type".to_string(), "text/plain".to_string()),
                ("Set-Cookie".to_string(), "a=1".to_string()),
                ("X-Empty".to_string(), "".to_string()),
            ]
        );
        let r = HttpResponse { status: 200, headers: h, body: Vec::new() };
        assert_eq!(r.header("content-type"), Some("text/plain"));
    }

    #[test]
    fn off_wasm_the_host_is_unsupported() {
        assert_eq!(get("http://example.com/"), Err(Error::Unsupported));
    }
}
