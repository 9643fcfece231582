//! Encoders: each turns what a [`Var`](crate::Var) writes into one output format.
//!
//! Every output is a view of the same registry, so every encoder implements the one
//! `Encode` interface that [`Writer`](crate::Writer) drives (defined beside it).

pub(crate) mod json;
pub(crate) mod prometheus;
#[cfg(feature = "server")]
pub(crate) mod sample;
