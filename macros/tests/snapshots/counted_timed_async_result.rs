// Input:
//
// #[counted]
// #[timed]
// async fn fetch(id: u32) -> Result<Row, DbError> {
//     let row = db::get(id).await?;
//     Ok(row)
// }
//
// Expansion:

async fn fetch(id: u32) -> Result<Row, DbError> {
    #[allow(unused_imports)]
    use timed as _;
    static __EXPVAR_FUNCTION: ::expvar::__private::FunctionStats = ::expvar::__private::NEW_FUNCTION_STATS;
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::FunctionEntry::new(& __EXPVAR_FUNCTION,
        ::expvar::__private::FunctionInfo { key :
        ::expvar::__private::concat!(::expvar::__private::module_path!(), "::fetch"),
        module : ::expvar::__private::module_path!(), function : "fetch", timed : true,
        fallible : true, site : ::expvar::__private::Site { file :
        ::expvar::__private::file!(), line : ::expvar::__private::line!(), }, })
    }
    let mut __expvar_guard = ::expvar::__private::enter_timed(&__EXPVAR_FUNCTION);
    __expvar_guard
        .observe(
            async move {
                if let ::expvar::__private::Some(__expvar_never) = ::expvar::__private::no_value::<
                    Result<Row, DbError>,
                >() {
                    return __expvar_never;
                }
                {
                    let row = db::get(id).await?;
                    Ok(row)
                }
            }
                .await,
        )
}
