//! Variables and registries the wire formats' tests share.

use std::sync::Arc;

use crate::registry::Registry;
use crate::vars::{Unit, Var, Writer};
use crate::Counter;

/// A gauge with help and a unit.
pub(super) struct Heap;

impl Var for Heap {
    fn write(&self, out: Writer<'_>) {
        out.help("Bytes held.").unit(Unit::Bytes).gauge(4096);
    }
}

/// Counters `a_before` and `c_after`, and between them `b_panics`, a variable that
/// panics midway through writing itself.
pub(super) fn a_panic_between_two_counters() -> Registry {
    struct Panics;
    impl Var for Panics {
        fn write(&self, out: Writer<'_>) {
            out.object(|fields| {
                fields.field("first").counter(1);
                panic!("midway");
            });
        }
    }
    let registry = Registry::new();
    registry
        .publish("a_before", Arc::new(Counter::new()))
        .unwrap();
    registry.publish("b_panics", Arc::new(Panics)).unwrap();
    registry
        .publish("c_after", Arc::new(Counter::new()))
        .unwrap();
    registry
}
