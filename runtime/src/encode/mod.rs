//! Encoders: each turns what a [`Var`](crate::Var) writes into one output format.
//!
//! Every output is a view of the same registry, so every encoder implements the one
//! [`Encode`] interface that [`Writer`](crate::Writer) drives.

pub(crate) mod json;
mod names;
pub(crate) mod prometheus;

use crate::histogram::Histogram;

/// The receiving end of a [`Writer`](crate::Writer): one output format.
pub(crate) trait Encode {
    fn counter(&mut self, value: u64);
    fn counter_f64(&mut self, value: f64);
    fn gauge(&mut self, value: i64);
    fn float(&mut self, value: f64);
    fn str(&mut self, value: &str);
    fn bool(&mut self, value: bool);
    fn null(&mut self);
    fn histogram(&mut self, histogram: &Histogram);
    fn json(&mut self, value: &serde_json::Value);
    /// A value that could not be produced: written as absent, counted and logged.
    fn fail(&mut self, reason: &dyn std::fmt::Display);
    fn begin_object(&mut self);
    fn field(&mut self, name: &str, help: Option<&str>);
    fn end_object(&mut self);
    fn begin_map(&mut self, label: &str);
    fn entry(&mut self, key: &str);
    fn end_map(&mut self);
}
