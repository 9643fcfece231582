// Input:
//
// #[timed]
// fn lookup(&self, key: &str) -> Option<&Row> {
//     #![allow(clippy::needless_return)]
//     let index = self.index.get(key)?;
//     self.rows.get(*index)
// }
//
// Expansion:

fn lookup(&self, key: &str) -> Option<&Row> {
    #![allow(clippy::needless_return)]
    static __EXPVAR_FUNCTION: ::expvar::__private::FunctionStats = ::expvar::__private::NEW_FUNCTION_STATS;
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::FunctionEntry::new(& __EXPVAR_FUNCTION,
        ::expvar::__private::FunctionInfo { key :
        ::expvar::__private::concat!(::expvar::__private::module_path!(), "::lookup"),
        module : ::expvar::__private::module_path!(), function : "lookup", timed : true,
        fallible : true, site : ::expvar::__private::Site { file :
        ::expvar::__private::file!(), line : ::expvar::__private::line!(), }, })
    }
    let mut __expvar_guard = ::expvar::__private::enter_timed_local(&__EXPVAR_FUNCTION);
    __expvar_guard
        .observe(
            ::expvar::__private::call_once(move || {
                if let ::expvar::__private::Some(__expvar_never) = ::expvar::__private::no_value::<
                    Option<&Row>,
                >() {
                    return __expvar_never;
                }
                {
                    let index = self.index.get(key)?;
                    self.rows.get(*index)
                }
            }),
        )
}
