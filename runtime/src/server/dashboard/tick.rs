//! What the sampler posts once a tick for every client: the sample, rendered once as a
//! Server-Sent Event, and the shape of its values.

use std::sync::Arc;

use bytes::Bytes;

use crate::encode::sample::LeafKey;

/// One sample, rendered once and sent as is to every client.
#[derive(Debug)]
pub(crate) struct Tick {
    /// The shape of [`event`](Self::event)'s values; clients are sent it when it changes.
    pub(crate) schema: Arc<Schema>,
    /// The `sample` Server-Sent Event, with [`id`](Self::id) as its SSE `id:`:
    /// `{"t": <ms since epoch>, "s": <schema id>, "v": [...]}`.
    pub(crate) event: Bytes,
    /// This sampler's count of samples, from 1: what the pages acknowledge.
    pub(crate) id: u64,
}

/// The paths and kinds of the values of a sample, in order.
#[derive(Debug)]
pub(crate) struct Schema {
    pub(crate) id: u64,
    /// The `schema` Server-Sent Event: `{"id": n, "interval_ms": n, "leaves": [[kind,
    /// [segment, ...], map key bits], ...]}`.
    pub(crate) event: Bytes,
    /// What the schema was built from, to tell whether the next sample has the same shape.
    pub(super) keys: Vec<LeafKey>,
}
