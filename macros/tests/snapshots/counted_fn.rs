// Input:
//
// #[counted]
// fn handle() {}
//
// Expansion:

fn handle() {
    static __EXPVAR_FUNCTION: ::expvar::__private::FunctionStats = ::expvar::__private::FunctionStats::new();
    const __EXPVAR_INFO: ::expvar::__private::FunctionInfo = ::expvar::__private::FunctionInfo {
        key: ::expvar::__private::concat!(
            ::expvar::__private::module_path!(), "::handle"
        ),
        module: ::expvar::__private::module_path!(),
        function: "handle",
        timed: false,
        fallible: false,
        site: ::expvar::__private::Site {
            file: ::expvar::__private::file!(),
            line: ::expvar::__private::line!(),
        },
    };
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::FunctionEntry::new(& __EXPVAR_FUNCTION, __EXPVAR_INFO)
    }
    let __expvar_guard = __EXPVAR_FUNCTION.enter_local();
    {}
}
