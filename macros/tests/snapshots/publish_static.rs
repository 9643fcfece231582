// Input:
//
// #[publish]
// static REQUESTS: Counter = Counter::new();
//
// Expansion:

static REQUESTS: Counter = Counter::new();
const _: () = {
    fn __expvar_var() -> &'static dyn ::expvar::__private::Var {
        ::expvar::__private::as_var(&REQUESTS)
    }
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::Entry::new("requests", __expvar_var,
        ::expvar::__private::file!(), ::expvar::__private::line!())
    }
};
