// Input:
//
// #[counted(objective = "99.9%", objective_name = "checkout")]
// #[timed(objective = "99% < 250ms", window = "7d")]
// fn pay(order: u64) -> Result<(), PaymentError> {
//     gateway::charge(order)
// }
//
// Expansion:

fn pay(order: u64) -> Result<(), PaymentError> {
    #[allow(unused_imports)]
    use timed as _;
    static __EXPVAR_FUNCTION: ::expvar::__private::FunctionStats = ::expvar::__private::NEW_FUNCTION_STATS;
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::FunctionEntry::new(& __EXPVAR_FUNCTION,
        ::expvar::__private::FunctionInfo { key :
        ::expvar::__private::concat!(::expvar::__private::module_path!(), "::pay"),
        module : ::expvar::__private::module_path!(), function : "pay", timed : true,
        fallible : true, site : ::expvar::__private::Site { file :
        ::expvar::__private::file!(), line : ::expvar::__private::line!(), }, })
    }
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::ObjectiveEntry::new(& __EXPVAR_FUNCTION,
        ::expvar::__private::ObjectiveDeclaration { name : "checkout", success :
        ::expvar::__private::Some(0.999f64), latency :
        ::expvar::__private::Some((0.99f64, 0.25f64)), window_seconds : 604800u64, site :
        ::expvar::__private::Site { file : ::expvar::__private::file!(), line :
        ::expvar::__private::line!(), }, })
    }
    let mut __expvar_guard = ::expvar::__private::enter_timed_local(&__EXPVAR_FUNCTION);
    __expvar_guard
        .observe(
            ::expvar::__private::call_once(move || {
                if let ::expvar::__private::Some(__expvar_never) = ::expvar::__private::no_value::<
                    Result<(), PaymentError>,
                >() {
                    return __expvar_never;
                }
                { gateway::charge(order) }
            }),
        )
}
