// Input:
//
// #[derive(Expvar, Default)]
// pub struct Latencies {
//     #[expvar(native)]
//     request: Histogram,
//     #[expvar(native, buckets = [0.01, 0.1, 1.0])]
//     upstream: Histogram,
// }
//
// Expansion:

#[automatically_derived]
impl ::expvar::__private::Var for Latencies {
    fn write(&self, __expvar_out: ::expvar::__private::Writer<'_>) {
        __expvar_out
            .object(|__expvar_fields| {
                ::expvar::__private::Native::write_native(
                    &self.request,
                    ::expvar::__private::None,
                    __expvar_fields.field("request"),
                );
                ::expvar::__private::Native::write_native(
                    &self.upstream,
                    ::expvar::__private::Some(&[0.01f64, 0.1f64, 1f64]),
                    __expvar_fields.field("upstream"),
                );
            });
    }
}
#[automatically_derived]
impl Latencies {
    /// The process-wide [`Latencies`], published as `latencies`; created with `Default` on first use.
    #[must_use]
    pub fn global() -> &'static Self {
        static __EXPVAR_GLOBAL: ::expvar::__private::Lazy<Latencies> = ::expvar::__private::Lazy::new(
            <Latencies as ::expvar::__private::Global>::create,
        );
        &__EXPVAR_GLOBAL
    }
}
const _: () = {
    fn __expvar_global() -> &'static dyn ::expvar::__private::Var {
        <Latencies>::global()
    }
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::Entry::new("latencies", __expvar_global,
        ::expvar::__private::file!(), ::expvar::__private::line!())
    }
};
