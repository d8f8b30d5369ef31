//! Inter-function communication: call (request/response), send (fan-out),
//! recv (fan-in). The same wherever the peer runs: in this process, another
//! process on the node, or another host.

use std::ptr;
use std::time::Duration;

use crate::error::{check, Error};
use crate::{memory, sys};

/// Milliseconds for the ABI: saturated to u32, and a non-zero duration below
/// 1 ms rounds up (0 has a meaning of its own).
pub(crate) fn millis(d: Duration) -> u32 {
    let ms = d.as_millis();
    if ms == 0 && !d.is_zero() {
        1
    } else {
        u32::try_from(ms).unwrap_or(u32::MAX)
    }
}

fn len32(what: &str, n: usize) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| Error::msg(format!("{} larger than 4 GiB", what)))
}

/// Calls function `target` with `request` and waits for its response, at
/// most the host's default time.
///
/// Errors: `UnknownTarget` (no such function), `FunctionFailed(text)` (it ran
/// and failed; its error text), `Timeout`, `Unavailable`, `TooLarge`...
pub fn call(target: &str, request: &[u8]) -> Result<Vec<u8>, Error> {
    call_with_timeout(target, request, Duration::ZERO)
}

/// `call` waiting at most `timeout` (zero: the host's default).
pub fn call_with_timeout(target: &str, request: &[u8], timeout: Duration) -> Result<Vec<u8>, Error> {
    let mut out: *mut u8 = ptr::null_mut();
    let mut out_len: u32 = 0;
    // Safety: live slices in, out-pointers to locals.
    let rc = unsafe {
        sys::call(
            target.as_ptr(),
            len32("target", target.len())?,
            request.as_ptr(),
            len32("request", request.len())?,
            millis(timeout),
            &mut out,
            &mut out_len,
        )
    };
    // Safety: the host placed the response through cwasi_alloc (or left null).
    let response = unsafe { memory::take_host_buffer(out, out_len) };
    if rc == sys::OK {
        Ok(response)
    } else {
        Err(Error::from_code(rc, response))
    }
}

/// Sends `payload` to function `target` without waiting for it to run;
/// returns once the target's host accepted it.
pub fn send(target: &str, payload: &[u8]) -> Result<(), Error> {
    // Safety: live slices.
    check(unsafe {
        sys::send(
            target.as_ptr(),
            len32("target", target.len())?,
            payload.as_ptr(),
            len32("payload", payload.len())?,
        )
    })
}

/// Receives the next message sent to this function, waiting at most
/// `timeout` (zero: `Err(Timeout)` at once when none is queued).
pub fn recv(timeout: Duration) -> Result<Vec<u8>, Error> {
    let mut out: *mut u8 = ptr::null_mut();
    let mut out_len: u32 = 0;
    // Safety: out-pointers to locals.
    let rc = unsafe { sys::recv(millis(timeout), &mut out, &mut out_len) };
    // Safety: as for call.
    let payload = unsafe { memory::take_host_buffer(out, out_len) };
    if rc == sys::OK {
        Ok(payload)
    } else {
        Err(Error::from_code(rc, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_to_the_abis_milliseconds() {
        assert_eq!(millis(Duration::ZERO), 0);
        assert_eq!(millis(Duration::from_micros(10)), 1);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), u32::MAX);
    }
}
