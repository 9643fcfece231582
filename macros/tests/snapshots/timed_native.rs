// Input:
//
// #[timed(native)]
// fn handler(x: u32) -> u32 { x + 1 }
//
// Expansion:

fn handler(x: u32) -> u32 {
    static __EXPVAR_FUNCTION: ::expvar::__private::FunctionStats = ::expvar::__private::NEW_NATIVE_FUNCTION_STATS;
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::FunctionEntry::new(& __EXPVAR_FUNCTION,
        ::expvar::__private::FunctionInfo { key :
        ::expvar::__private::concat!(::expvar::__private::module_path!(), "::handler"),
        module : ::expvar::__private::module_path!(), function : "handler", timed : true,
        fallible : false, site : ::expvar::__private::Site { file :
        ::expvar::__private::file!(), line : ::expvar::__private::line!(), }, })
    }
    let __expvar_guard = ::expvar::__private::enter_timed_local(&__EXPVAR_FUNCTION);
    { x + 1 }
}
