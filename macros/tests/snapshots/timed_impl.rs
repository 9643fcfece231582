// Input:
//
// #[timed]
// impl Repo {
//     const fn new() -> Self { Repo }
//     fn find(&self) {}
//     #[counted]
//     async fn save(&mut self) {}
//     #[expvar(skip)]
//     fn helper(&self) {}
// }
//
// Expansion:

impl Repo {
    const fn new() -> Self {
        Repo
    }
    fn find(&self) {
        static __EXPVAR_FUNCTION: ::expvar::__private::FunctionStats = ::expvar::__private::NEW_FUNCTION_STATS;
        ::expvar::__private::inventory::submit! {
            ::expvar::__private::FunctionEntry::new(& __EXPVAR_FUNCTION,
            ::expvar::__private::FunctionInfo { key :
            ::expvar::__private::concat!(::expvar::__private::module_path!(),
            "::Repo::find"), module : ::expvar::__private::module_path!(), function :
            "Repo::find", timed : true, fallible : false, site :
            ::expvar::__private::Site { file : ::expvar::__private::file!(), line :
            ::expvar::__private::line!(), }, })
        }
        let __expvar_guard = ::expvar::__private::enter_timed_local(&__EXPVAR_FUNCTION);
        {}
    }
    async fn save(&mut self) {
        #[allow(unused_imports)]
        use counted as _;
        static __EXPVAR_FUNCTION: ::expvar::__private::FunctionStats = ::expvar::__private::NEW_FUNCTION_STATS;
        ::expvar::__private::inventory::submit! {
            ::expvar::__private::FunctionEntry::new(& __EXPVAR_FUNCTION,
            ::expvar::__private::FunctionInfo { key :
            ::expvar::__private::concat!(::expvar::__private::module_path!(),
            "::Repo::save"), module : ::expvar::__private::module_path!(), function :
            "Repo::save", timed : true, fallible : false, site :
            ::expvar::__private::Site { file : ::expvar::__private::file!(), line :
            ::expvar::__private::line!(), }, })
        }
        let __expvar_guard = ::expvar::__private::enter_timed(&__EXPVAR_FUNCTION);
        {}
    }
    fn helper(&self) {}
}
