//! Re-exports Wasmtime's C API so that this crate's staticlib carries every
//! `wasm_*`, `wasi_*` and `wasmtime_*` symbol, plus the few `cwasi_*`
//! functions cwasi needs that the C API does not offer.
pub use wasmtime_c_api::*;

use wasmtime_c_api::wasmtime::StoreLimitsBuilder;

/// Like `wasmtime_store_limiter`, and with `trap` a linear memory or table
/// that would grow past its limit traps instead of returning -1 to the guest,
/// so the host can report "memory limit exceeded" instead of whatever the
/// guest does with a failed allocation. Must be called after
/// `wasmtime_store_limiter` (which installs the limiter that reads these
/// limits); may be called again to switch trapping off and on. Negative values
/// keep the default for that limit.
#[unsafe(no_mangle)]
pub extern "C" fn cwasi_context_set_limits_trapping(
    mut store: wasmtime_c_api::WasmtimeStoreContextMut<'_>,
    memory_size: i64,
    table_elements: i64,
    instances: i64,
    tables: i64,
    memories: i64,
    trap: bool,
) {
    let mut limits = StoreLimitsBuilder::new().trap_on_grow_failure(trap);
    if memory_size >= 0 {
        limits = limits.memory_size(memory_size as usize);
    }
    if table_elements >= 0 {
        limits = limits.table_elements(table_elements as usize);
    }
    if instances >= 0 {
        limits = limits.instances(instances as usize);
    }
    if tables >= 0 {
        limits = limits.tables(tables as usize);
    }
    if memories >= 0 {
        limits = limits.memories(memories as usize);
    }
    store.data_mut().store_limits = limits.build();
}

/// Tells by type, never by message text, whether `err` says that the pooling
/// allocator has no free instance slot. Takes the error and hands it back
/// unchanged (the C API's error type only moves by ownership).
#[unsafe(no_mangle)]
pub extern "C" fn cwasi_error_pool_exhausted(
    err: Box<wasmtime_c_api::wasmtime_error_t>,
    exhausted: &mut bool,
) -> Box<wasmtime_c_api::wasmtime_error_t> {
    let error: wasmtime_c_api::wasmtime::Error = (*err).into();
    *exhausted = error
        .downcast_ref::<wasmtime_c_api::wasmtime::PoolConcurrencyLimitError>()
        .is_some();
    Box::new(error.into())
}
