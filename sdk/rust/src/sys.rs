//! The raw imports of module "cwasi" (sdk/c/cwasi.h is the reference).
//!
//! Only functions a module calls end up among its imports: the linker drops
//! the rest, so a module that never uses `cwasi::http` does not import
//! `http_request` and still loads on hosts of ABI version 2.
//!
//! Off wasm32 (`cargo test` on the build machine) every import is a stub
//! answering CWASI_ERR_UNSUPPORTED, so the pure parts of the crate can be
//! tested natively.

#![allow(clippy::too_many_arguments)]

pub const OK: i32 = 0;
#[cfg(not(target_arch = "wasm32"))]
pub const ERR_UNSUPPORTED: i32 = 8;

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "cwasi")]
    extern "C" {
        // ABI version 1.
        #[link_name = "response_set"]
        pub fn response_set(body: *const u8, len: u32) -> i32;
        #[link_name = "call"]
        pub fn call(
            target: *const u8,
            target_len: u32,
            request: *const u8,
            request_len: u32,
            timeout_ms: u32,
            response: *mut *mut u8,
            response_len: *mut u32,
        ) -> i32;
        #[link_name = "send"]
        pub fn send(target: *const u8, target_len: u32, payload: *const u8, payload_len: u32)
            -> i32;
        #[link_name = "recv"]
        pub fn recv(timeout_ms: u32, payload: *mut *mut u8, payload_len: *mut u32) -> i32;
        // ABI version 2.
        #[link_name = "response_status"]
        pub fn response_status(status: i32) -> i32;
        #[link_name = "response_header"]
        pub fn response_header(name: *const u8, name_len: u32, value: *const u8, value_len: u32)
            -> i32;
        // ABI version 3.
        #[link_name = "http_request"]
        pub fn http_request(
            method: *const u8,
            method_len: u32,
            url: *const u8,
            url_len: u32,
            headers: *const u8,
            headers_len: u32,
            body: *const u8,
            body_len: u32,
            timeout_ms: u32,
            status: *mut i32,
            response_headers: *mut *mut u8,
            response_headers_len: *mut u32,
            response_body: *mut *mut u8,
            response_body_len: *mut u32,
        ) -> i32;
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imports {
    use super::ERR_UNSUPPORTED;
    pub unsafe fn response_set(_: *const u8, _: u32) -> i32 {
        ERR_UNSUPPORTED
    }
    pub unsafe fn call(_: *const u8, _: u32, _: *const u8, _: u32, _: u32, _: *mut *mut u8, _: *mut u32) -> i32 {
        ERR_UNSUPPORTED
    }
    pub unsafe fn send(_: *const u8, _: u32, _: *const u8, _: u32) -> i32 {
        ERR_UNSUPPORTED
    }
    pub unsafe fn recv(_: u32, _: *mut *mut u8, _: *mut u32) -> i32 {
        ERR_UNSUPPORTED
    }
    pub unsafe fn response_status(_: i32) -> i32 {
        ERR_UNSUPPORTED
    }
    pub unsafe fn response_header(_: *const u8, _: u32, _: *const u8, _: u32) -> i32 {
        ERR_UNSUPPORTED
    }
    pub unsafe fn http_request(
        _: *const u8, _: u32, _: *const u8, _: u32, _: *const u8, _: u32, _: *const u8, _: u32,
        _: u32, _: *mut i32, _: *mut *mut u8, _: *mut u32, _: *mut *mut u8, _: *mut u32,
    ) -> i32 {
        ERR_UNSUPPORTED
    }
}

pub use imports::*;
