// Input:
//
// #[derive(Expvar, Default)]
// #[expvar(name = "queue")]
// pub struct QueueStatus {
//     /// Tasks waiting to run.
//     pending: Gauge,
//     done: Counter,
//     #[expvar(rename = "latency")]
//     wait: Histogram,
//     #[expvar(label = "kind")]
//     by_kind: Map<Counter>,
//     #[expvar(skip)]
//     scratch: std::sync::Mutex<Vec<u8>>,
//     nested: ApiStats,
// }
//
// Expansion:

#[automatically_derived]
impl ::expvar::__private::Var for QueueStatus {
    fn write(&self, __expvar_out: ::expvar::__private::Writer<'_>) {
        __expvar_out
            .object(|__expvar_fields| {
                ::expvar::__private::write_field(
                    &self.pending,
                    __expvar_fields.field_with_help("pending", "Tasks waiting to run."),
                );
                ::expvar::__private::write_field(
                    &self.done,
                    __expvar_fields.field("done"),
                );
                ::expvar::__private::write_field(
                    &self.wait,
                    __expvar_fields.field("latency"),
                );
                ::expvar::__private::Labelled::write_labelled(
                    &self.by_kind,
                    "kind",
                    __expvar_fields.field("by_kind"),
                );
                ::expvar::__private::write_field(
                    &self.nested,
                    __expvar_fields.field("nested"),
                );
            });
    }
}
#[automatically_derived]
impl QueueStatus {
    /// The process-wide [`QueueStatus`], published as `queue`; created with `Default` on first use.
    #[must_use]
    pub fn global() -> &'static Self {
        static __EXPVAR_GLOBAL: ::expvar::__private::Lazy<QueueStatus> = ::expvar::__private::Lazy::new(
            <QueueStatus as ::expvar::__private::Global>::create,
        );
        &__EXPVAR_GLOBAL
    }
}
const _: () = {
    fn __expvar_global() -> &'static dyn ::expvar::__private::Var {
        <QueueStatus>::global()
    }
    ::expvar::__private::inventory::submit! {
        ::expvar::__private::Entry::new("queue", __expvar_global,
        ::expvar::__private::file!(), ::expvar::__private::line!())
    }
};
