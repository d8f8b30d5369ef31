//! Error: the guest ABI's CWASI_ERR_* codes, plus the function's own errors.

use std::fmt;

/// What a cwasi call failed with. The code variants mirror `CWASI_ERR_*` in
/// sdk/c/cwasi.h; `Message` is an application error a handler returns.
///
/// A handler returning `Err(e)` fails the invocation: the host answers HTTP
/// 500 with `e.to_string()` as the error, `cwasi run` prints it and exits
/// non-zero, and a caller's `cwasi::call` gets `Error::FunctionFailed` with
/// that text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// CWASI_ERR_UNKNOWN_TARGET (1): no function of that name is known.
    UnknownTarget,
    /// CWASI_ERR_UNAVAILABLE (2): the target is known but unreachable now.
    Unavailable,
    /// CWASI_ERR_TIMEOUT (3): no answer (or message) within the timeout.
    Timeout,
    /// CWASI_ERR_TOO_LARGE (4): larger than the host or receiver accepts.
    TooLarge,
    /// CWASI_ERR_INVALID_ARGUMENT (5): a bad header, an empty target...
    InvalidArgument,
    /// CWASI_ERR_INTERNAL (6): the host failed in a way the function cannot fix.
    Internal,
    /// CWASI_ERR_FUNCTION_FAILED (7): the target ran and failed; its error text.
    FunctionFailed(Vec<u8>),
    /// CWASI_ERR_UNSUPPORTED (8): this host does not offer the operation.
    Unsupported,
    /// CWASI_ERR_DENIED (9, ABI 3): the destination is not granted to this function.
    Denied,
    /// CWASI_ERR_CONNECT (10, ABI 3): DNS failure, connection refused or reset.
    Connect,
    /// A code this SDK does not know (a newer host).
    Code(i32),
    /// The function's own error (`Error::msg`, or a `String`/`&str` via `?`).
    Message(String),
}

impl Error {
    /// An application error with this message.
    pub fn msg(message: impl Into<String>) -> Error {
        Error::Message(message.into())
    }

    /// The error for a non-zero CWASI status; `response` is what came back
    /// with it (the target's error text for CWASI_ERR_FUNCTION_FAILED).
    pub fn from_code(code: i32, response: Vec<u8>) -> Error {
        match code {
            1 => Error::UnknownTarget,
            2 => Error::Unavailable,
            3 => Error::Timeout,
            4 => Error::TooLarge,
            5 => Error::InvalidArgument,
            6 => Error::Internal,
            7 => Error::FunctionFailed(response),
            8 => Error::Unsupported,
            9 => Error::Denied,
            10 => Error::Connect,
            c => Error::Code(c),
        }
    }

    /// The CWASI_ERR_* code, or None for `Message`.
    pub fn code(&self) -> Option<i32> {
        Some(match self {
            Error::UnknownTarget => 1,
            Error::Unavailable => 2,
            Error::Timeout => 3,
            Error::TooLarge => 4,
            Error::InvalidArgument => 5,
            Error::Internal => 6,
            Error::FunctionFailed(_) => 7,
            Error::Unsupported => 8,
            Error::Denied => 9,
            Error::Connect => 10,
            Error::Code(c) => *c,
            Error::Message(_) => return None,
        })
    }

    /// This error with `what` in front: "call ghost: unknown target".
    pub fn context(self, what: impl fmt::Display) -> Error {
        Error::Message(format!("{}: {}", what, self))
    }
}

/// Status 0 is success; anything else is the error it names.
pub(crate) fn check(code: i32) -> Result<(), Error> {
    if code == crate::sys::OK {
        Ok(())
    } else {
        Err(Error::from_code(code, Vec::new()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownTarget => f.write_str("unknown target"),
            Error::Unavailable => f.write_str("target unavailable"),
            Error::Timeout => f.write_str("timed out"),
            Error::TooLarge => f.write_str("too large"),
            Error::InvalidArgument => f.write_str("invalid argument"),
            Error::Internal => f.write_str("internal host error"),
            Error::FunctionFailed(text) if text.is_empty() => f.write_str("function failed"),
            Error::FunctionFailed(text) => {
                write!(f, "function failed: {}", String::from_utf8_lossy(text))
            }
            Error::Unsupported => f.write_str("not supported by this host"),
            Error::Denied => f.write_str("destination not granted"),
            Error::Connect => f.write_str("cannot connect"),
            Error::Code(c) => write!(f, "cwasi error {}", c),
            Error::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(m: String) -> Error {
        Error::Message(m)
    }
}

impl From<&str> for Error {
    fn from(m: &str) -> Error {
        Error::Message(m.to_string())
    }
}

impl From<std::str::Utf8Error> for Error {
    fn from(e: std::str::Utf8Error) -> Error {
        Error::Message(format!("not UTF-8: {}", e))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Message(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_read_well() {
        for c in 1..=10 {
            assert_eq!(Error::from_code(c, Vec::new()).code(), Some(c));
        }
        assert_eq!(Error::from_code(42, Vec::new()), Error::Code(42));
        assert_eq!(Error::UnknownTarget.to_string(), "unknown target");
        assert_eq!(Error::from_code(7, b"boom".to_vec()).to_string(), "function failed: boom");
        assert_eq!(Error::Denied.context("fetch http://x/").to_string(), "fetch http://x/: destination not granted");
        assert_eq!(Error::msg("mine").code(), None);
        assert_eq!(check(0), Ok(()));
        assert_eq!(check(3), Err(Error::Timeout));
    }
}
