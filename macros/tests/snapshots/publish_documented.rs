// Input:
//
// #[publish]
// /// Jobs taken from the queue.
// static JOBS: Counter = Counter::new();
//
// Expansion:

/// Jobs taken from the queue.
static JOBS: Counter = Counter::new();
const _: () = {
    fn __expvar_var() -> &'static dyn ::expvar::__private::Var {
        static __EXPVAR_DOCUMENTED: ::expvar::__private::Documented = ::expvar::__private::Documented::new(
            &JOBS,
            "Jobs taken from the queue.",
        );
        &__EXPVAR_DOCUMENTED
    }
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::Entry::new("jobs", __expvar_var,
        ::expvar::__private::file!(), ::expvar::__private::line!())
    }
};
