//! Buffers shared with the host.
//!
//! The host places requests, call responses, messages and HTTP responses in
//! this module's memory by calling the exported `cwasi_alloc(size)`. Here it
//! allocates `max(size, 1)` bytes with alignment 1 from Rust's global
//! allocator, so every such buffer is exactly what a `Vec<u8>` of capacity
//! `max(size, 1)` owns: `take_host_buffer` adopts it with
//! `Vec::from_raw_parts(ptr, len, max(len, 1))` and dropping the `Vec` frees
//! it. A function that replaces `cwasi_alloc` must keep this layout.
//!
//! The other way round, the host reads a response body only after
//! `cwasi_handle` returns: `keep_response` holds the bytes until the next
//! invocation replaces them.

use std::alloc::{alloc, Layout};
use std::cell::RefCell;

/// What `cwasi_alloc` does: `size` bytes (at least 1) aligned to 1, or null
/// when memory cannot grow (the host then reports the request too large).
pub fn host_alloc(size: u32) -> *mut u8 {
    let n = (size as usize).max(1);
    match Layout::from_size_align(n, 1) {
        // Safety: the layout has a non-zero size.
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Takes ownership of `len` bytes at `ptr` that the host placed through
/// `cwasi_alloc(len)`. A null pointer is an empty buffer.
///
/// # Safety
/// `ptr` is null or came from `host_alloc(len)` and is owned by no one else.
pub unsafe fn take_host_buffer(ptr: *mut u8, len: u32) -> Vec<u8> {
    if ptr.is_null() {
        return Vec::new();
    }
    let len = len as usize;
    Vec::from_raw_parts(ptr, len, len.max(1))
}

thread_local! {
    static RESPONSE: RefCell<Vec<u8>> = RefCell::new(Vec::new());
}

/// Keeps `body` alive until the next call and returns its address and length.
pub fn keep_response(body: Vec<u8>) -> (*const u8, u32) {
    RESPONSE.with(|r| {
        let mut r = r.borrow_mut();
        *r = body;
        (r.as_ptr(), r.len() as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_buffers_are_adopted_and_freed_with_their_layout() {
        for len in [0u32, 1, 7, 4096, 1 << 20] {
            let p = host_alloc(len);
            assert!(!p.is_null());
            // Safety: fresh from host_alloc(len), as the host would hand it back.
            unsafe { std::ptr::write_bytes(p, 0xab, len as usize) };
            let v = unsafe { take_host_buffer(p, len) };
            assert_eq!(v.len(), len as usize);
            assert!(v.iter().all(|&b| b == 0xab));
            assert_eq!(v.capacity(), (len as usize).max(1));
        }
        assert!(unsafe { take_host_buffer(std::ptr::null_mut(), 5) }.is_empty());
    }

    #[test]
    fn a_kept_response_stays_until_replaced() {
        let (p, n) = keep_response(b"first".to_vec());
        assert_eq!(unsafe { std::slice::from_raw_parts(p, n as usize) }, b"first");
        let (_, n2) = keep_response(Vec::new());
        assert_eq!(n2, 0);
    }
}
