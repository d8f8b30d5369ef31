//! cwasi — the guest SDK for cwasi functions written in Rust, compiled to
//! wasm32-wasi. It binds the guest ABI of sdk/c/cwasi.h (module "cwasi").
//!
//! A reactor is a `cdylib` whose handler the `handler!` macro exports:
//!
//! ```ignore
//! use cwasi::{Error, Request, Response};
//!
//! fn upper(req: Request) -> Result<Response, Error> {
//!     Ok(Response::ok(req.body().to_ascii_uppercase()))
//! }
//! cwasi::handler!(upper);
//! ```
//!
//! `handler!` exports `cwasi_alloc` (the host places the request and any
//! response of `call`/`recv`/`http` there; see `memory` for who frees what)
//! and `cwasi_handle`, which builds the `Request` (body plus the HTTP method,
//! path, query and headers from the environment), runs the handler and hands
//! its `Response` to the host. `Err(e)` fails the invocation with
//! `e.to_string()` as its message: HTTP 500 through cwasid, a non-zero exit
//! from `cwasi run`, `Error::FunctionFailed(text)` for a caller.
//! A panic prints its message on stderr and traps (panic = "abort" on wasm32).
//!
//! ABI versions: responses' status and headers are version 2, `http` is
//! version 3. A module imports only what it uses, so one that never calls
//! `cwasi::http` runs on version 2 hosts.

mod comm;
mod error;
pub mod http;
mod memory;
mod request;
mod response;
mod sys;

pub use comm::{call, call_with_timeout, recv, send};
pub use error::Error;
pub use request::Request;
pub use response::Response;

/// The newest guest ABI version this crate binds.
pub const ABI_VERSION: u32 = 3;

/// Exports `f` as the reactor's handler, where `f` is a
/// `fn(cwasi::Request) -> Result<cwasi::Response, E>` and `E: Into<cwasi::Error>`
/// (`cwasi::Error` itself, `String`, `&str`). Use once per module.
#[macro_export]
macro_rules! handler {
    ($f:expr) => {
        /// The host's allocator in this module (see the cwasi crate's docs).
        #[no_mangle]
        pub extern "C" fn cwasi_alloc(size: u32) -> *mut u8 {
            $crate::__rt::alloc(size)
        }

        #[no_mangle]
        pub extern "C" fn cwasi_handle(request: *mut u8, len: u32) -> i32 {
            // Safety: the host calls this with a buffer it got from cwasi_alloc(len).
            unsafe { $crate::__rt::handle(request, len, $f) }
        }
    };
}

/// Exports `cwasi_alloc` from a command (`fn main`, a Rust bin), which the
/// host needs to hand back the response of `cwasi::http` (and of `call`,
/// `recv`): `handler!` exports it for reactors, a command invokes this once
/// at the top level of its crate. The allocation is `handler!`'s, so buffers
/// the host placed are freed by the SDK as usual.
///
/// ```ignore
/// cwasi::export_alloc!();
/// fn main() { let r = cwasi::http::get("http://127.0.0.1:8000/"); /* ... */ }
/// ```
#[macro_export]
macro_rules! export_alloc {
    () => {
        /// The host's allocator in this module (see the cwasi crate's docs).
        #[no_mangle]
        pub extern "C" fn cwasi_alloc(size: u32) -> *mut u8 {
            $crate::__rt::alloc(size)
        }
    };
}

/// What `handler!` expands to; not a stable API.
#[doc(hidden)]
pub mod __rt {
    use crate::{memory, Error, Request, Response};

    pub fn alloc(size: u32) -> *mut u8 {
        memory::host_alloc(size)
    }

    /// # Safety
    /// `ptr` is null or the host's buffer from `alloc(len)`, owned by nobody else.
    pub unsafe fn handle<F, E>(ptr: *mut u8, len: u32, f: F) -> i32
    where
        F: FnOnce(Request) -> Result<Response, E>,
        E: Into<Error>,
    {
        let request = Request::from_env(memory::take_host_buffer(ptr, len));
        match f(request).map_err(Into::into).and_then(Response::send) {
            Ok(()) => 0,
            Err(e) => fail(&e),
        }
    }

    /// The failure's text becomes the response (the host's error message);
    /// the status is its CWASI code, or 1 for an application error.
    fn fail(e: &Error) -> i32 {
        let _ = crate::response::set_body(e.to_string().into_bytes());
        match e.code() {
            Some(c) if c != 0 => c,
            _ => 1,
        }
    }
}

/// How a command function (`fn main`) writes its response on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The body only: the default for commands (200, application/octet-stream).
    Body,
    /// CGI output — "Status:", the headers, a blank line, the body — for a
    /// deployment with the annotation cwasi.io/response: cgi.
    Cgi,
}

/// Runs `f` as a command function: the request is stdin (and the
/// environment), the response goes to stdout as `output` says; returns the
/// exit code (an `Err` is printed on stderr and exits 1).
///
/// ```ignore
/// fn main() { std::process::exit(cwasi::run_command(my_fn, cwasi::Output::Cgi)) }
/// ```
pub fn run_command<F, E>(f: F, output: Output) -> i32
where
    F: FnOnce(Request) -> Result<Response, E>,
    E: Into<Error>,
{
    use std::io::{Read, Write};
    let mut body = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut body) {
        eprintln!("{}", e);
        return 1;
    }
    let response = match f(Request::from_env(body)).map_err(Into::into) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}", e);
            return 1;
        }
    };
    let mut out = Vec::new();
    if output == Output::Cgi {
        out.extend_from_slice(format!("Status: {}\n", response.status_code()).as_bytes());
        for (k, v) in response.header_list() {
            out.extend_from_slice(format!("{}: {}\n", k, v).as_bytes());
        }
        out.push(b'\n');
    }
    out.extend_from_slice(response.body_bytes());
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&out).and_then(|_| stdout.flush()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{}", e);
            1
        }
    }
}
