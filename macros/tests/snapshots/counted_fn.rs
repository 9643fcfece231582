// Input:
//
// #[counted]
// fn handle() {}
//
// Expansion:

fn handle() {
    static __EXPVAR_FUNCTION: ::expvar::__private::FunctionStats = ::expvar::__private::NEW_FUNCTION_STATS;
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::FunctionEntry::new(& __EXPVAR_FUNCTION,
        ::expvar::__private::FunctionInfo { key :
        ::expvar::__private::concat!(::expvar::__private::module_path!(), "::handle"),
        module : ::expvar::__private::module_path!(), function : "handle", timed : false,
        fallible : false, site : ::expvar::__private::Site { file :
        ::expvar::__private::file!(), line : ::expvar::__private::line!(), }, })
    }
    let __expvar_guard = ::expvar::__private::enter_local(&__EXPVAR_FUNCTION);
    {}
}
