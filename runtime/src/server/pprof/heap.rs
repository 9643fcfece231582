//! `/debug/pprof/heap`: jemalloc's heap profile in pprof format (feature `heap-profile`).

/// jemalloc's heap profile as a gzipped pprof protobuf, or why there is none.
pub(crate) fn profile() -> Result<Vec<u8>, String> {
    let Some(control) = jemalloc_pprof::PROF_CTL.as_ref() else {
        return Err(
            "heap profiling is off: jemalloc must be the global allocator, \
                    with prof:true in its malloc_conf"
                .into(),
        );
    };
    // One dump at a time; this runs on the server's async threads, so never wait.
    let Ok(mut control) = control.try_lock() else {
        return Err("another heap profile is being taken".into());
    };
    if !control.activated() {
        return Err("heap profiling is not active (prof_active:false)".into());
    }
    control.dump_pprof().map_err(|error| error.to_string())
}
