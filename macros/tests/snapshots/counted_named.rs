// Input:
//
// #[counted(name = "requests_total")]
// pub fn index() -> &'static str { "hello" }
//
// Expansion:

pub fn index() -> &'static str {
    static __EXPVAR_FUNCTION: ::expvar::__private::FunctionStats = ::expvar::__private::NEW_FUNCTION_STATS;
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::FunctionEntry::new(& __EXPVAR_FUNCTION,
        ::expvar::__private::FunctionInfo { key : "requests_total", module :
        ::expvar::__private::module_path!(), function : "index", timed : false, fallible
        : false, site : ::expvar::__private::Site { file : ::expvar::__private::file!(),
        line : ::expvar::__private::line!(), }, })
    }
    fn __expvar_calls() -> &'static dyn ::expvar::__private::Var {
        __EXPVAR_FUNCTION.calls_counter()
    }
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::Entry::new("requests_total", __expvar_calls,
        ::expvar::__private::file!(), ::expvar::__private::line!())
    }
    let __expvar_guard = ::expvar::__private::enter_local(&__EXPVAR_FUNCTION);
    { "hello" }
}
