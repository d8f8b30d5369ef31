//! Response: what a handler answers. Status and headers reach HTTP clients
//! through ABI version 2 (cwasi_response_status, cwasi_response_header); the
//! body through cwasi_response_set. A caller's `cwasi::call` sees the body only.

use crate::error::{check, Error};
use crate::{memory, sys};

/// A handler's answer: 200 with no headers and an empty body until told
/// otherwise. Without a Content-Type the host sends application/octet-stream.
///
/// ```ignore
/// Response::new().status(302).header("Location", "/next").text("moved\n")
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Default for Response {
    fn default() -> Response {
        Response::new()
    }
}

impl Response {
    /// 200, no headers, empty body.
    pub fn new() -> Response {
        Response { status: 200, headers: Vec::new(), body: Vec::new() }
    }

    /// 200 with `body` (application/octet-stream).
    pub fn ok(body: impl Into<Vec<u8>>) -> Response {
        Response::new().body(body)
    }

    /// A redirect (301, 302, 303, 307, 308) to `location`, body "moved\n".
    pub fn redirect(status: u16, location: impl Into<String>) -> Response {
        Response::new().status(status).header("Location", location).text("moved\n")
    }

    /// Sets the HTTP status (200 to 599; the host refuses anything else).
    pub fn status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }

    /// Adds a header. Content-Type and Location hold one value (a later one
    /// replaces an earlier one); other names may repeat (Set-Cookie). The host
    /// refuses names that are not HTTP tokens, values with control
    /// characters, and headers the gateway sets itself (Content-Length...):
    /// the invocation then fails, naming the header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets Content-Type.
    pub fn content_type(self, value: impl Into<String>) -> Response {
        self.header("Content-Type", value)
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    /// Sets a text body and Content-Type text/plain; charset=utf-8.
    pub fn text(self, body: impl Into<String>) -> Response {
        self.content_type("text/plain; charset=utf-8").body(body.into())
    }

    /// The status set so far.
    pub fn status_code(&self) -> u16 {
        self.status
    }

    /// The headers set so far, in order.
    pub fn header_list(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body set so far.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// Hands the response to the host for the current cwasi_handle call.
    pub(crate) fn send(self) -> Result<(), Error> {
        if self.status != 200 {
            // Safety: a plain value.
            check(unsafe { sys::response_status(i32::from(self.status)) })
                .map_err(|e| e.context(format_args!("response status {}", self.status)))?;
        }
        for (name, value) in &self.headers {
            // Safety: both ranges are live slices; the host copies them at once.
            let rc = unsafe {
                sys::response_header(name.as_ptr(), name.len() as u32, value.as_ptr(), value.len() as u32)
            };
            check(rc).map_err(|e| e.context(format_args!("response header {}", name)))?;
        }
        set_body(self.body)
    }
}

/// Names `body` as the response (kept alive until the next invocation).
pub(crate) fn set_body(body: Vec<u8>) -> Result<(), Error> {
    let (ptr, len) = memory::keep_response(body);
    // Safety: `keep_response` keeps the range alive past cwasi_handle's return.
    check(unsafe { sys::response_set(ptr, len) })
}
