//! Exemplars from OpenTelemetry (feature `opentelemetry`): the ids of the sampled span
//! active where an instrumented function ends, attached to what it records.
//!
//! Without the feature, [`sampled`] is `None` and the code that would use it is gone;
//! with it, a call with no span active costs one thread-local read and no more.

/// Whether exemplars are taken from OpenTelemetry spans at all.
pub(crate) const ENABLED: bool = cfg!(feature = "opentelemetry");

/// The ids of a sampled span, as lowercase hex: the labels of its exemplars.
pub(crate) struct SpanIds {
    trace_id: [u8; 32],
    span_id: [u8; 16],
}

impl SpanIds {
    /// `trace_id` and `span_id`, as OpenMetrics exemplars and Grafana name them.
    pub(crate) fn labels(&self) -> [(&str, &str); 2] {
        [
            ("trace_id", text(&self.trace_id)),
            ("span_id", text(&self.span_id)),
        ]
    }
}

/// Hex digits as text (only hex digits are ever written).
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// The current OpenTelemetry span's ids, if one is active, valid and sampled.
#[cfg(feature = "opentelemetry")]
pub(crate) fn sampled() -> Option<SpanIds> {
    use opentelemetry::trace::TraceContextExt;

    opentelemetry::Context::map_current(|context| {
        if !context.has_active_span() {
            return None;
        }
        let span = context.span();
        let span = span.span_context();
        if !(span.is_valid() && span.is_sampled()) {
            return None;
        }
        let mut ids = SpanIds {
            trace_id: [0; 32],
            span_id: [0; 16],
        };
        hex(&span.trace_id().to_bytes(), &mut ids.trace_id);
        hex(&span.span_id().to_bytes(), &mut ids.span_id);
        Some(ids)
    })
}

/// Without the feature there is never a span.
#[cfg(not(feature = "opentelemetry"))]
#[inline(always)]
pub(crate) fn sampled() -> Option<SpanIds> {
    None
}

/// `bytes` as lowercase hex into `out` (twice as long).
#[cfg(feature = "opentelemetry")]
fn hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
}

#[cfg(all(test, feature = "opentelemetry"))]
mod tests {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::Context;

    use super::*;

    #[test]
    fn only_a_sampled_span_gives_ids() {
        assert!(sampled().is_none());
        let ids = |flags| {
            let span = SpanContext::new(
                TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
                SpanId::from_hex("00f067aa0ba902b7").unwrap(),
                flags,
                true,
                TraceState::default(),
            );
            let _attached = Context::current().with_remote_span_context(span).attach();
            sampled().map(|ids| {
                let [(_, trace), (_, span)] = ids.labels();
                (trace.to_owned(), span.to_owned())
            })
        };
        assert_eq!(
            ids(TraceFlags::SAMPLED),
            Some((
                "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
                "00f067aa0ba902b7".to_owned()
            ))
        );
        assert_eq!(ids(TraceFlags::default()), None, "not sampled");
        assert!(sampled().is_none(), "detached again");
    }
}
