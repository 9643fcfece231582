// Input:
//
// #[derive(Expvar, Default)]
// struct ApiStats {
//     total: Counter,
//     success: Counter,
//     fail: Counter,
// }
//
// Expansion:

#[automatically_derived]
impl ::expvar::__private::Var for ApiStats {
    fn write(&self, __expvar_out: ::expvar::__private::Writer<'_>) {
        __expvar_out
            .object(|__expvar_fields| {
                ::expvar::__private::write_field(
                    &self.total,
                    __expvar_fields.field("total"),
                );
                ::expvar::__private::write_field(
                    &self.success,
                    __expvar_fields.field("success"),
                );
                ::expvar::__private::write_field(
                    &self.fail,
                    __expvar_fields.field("fail"),
                );
            });
    }
}
#[automatically_derived]
impl ApiStats {
    /// The process-wide [`ApiStats`], published as `api_stats`; created with `Default` on first use.
    #[must_use]
    fn global() -> &'static Self {
        static __EXPVAR_GLOBAL: ::expvar::__private::Lazy<ApiStats> = ::expvar::__private::Lazy::new(
            <ApiStats as ::expvar::__private::Global>::create,
        );
        &__EXPVAR_GLOBAL
    }
}
const _: () = {
    fn __expvar_global() -> &'static dyn ::expvar::__private::Var {
        <ApiStats>::global()
    }
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::Entry::new("api_stats", __expvar_global,
        ::expvar::__private::file!(), ::expvar::__private::line!())
    }
};
