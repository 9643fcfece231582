//! Prometheus names, label values and numbers: sanitising and escaping by the rules of
//! the [text format](https://prometheus.io/docs/instrumenting/exposition_formats/) and
//! [OpenMetrics](https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md).

/// Appends `name` to `out` as part of a metric or label name: every character outside
/// `[a-zA-Z0-9_]` (`:` and non-ASCII included) becomes `_`, and a name that would start
/// with a digit gets a leading `_`.
///
/// `:` is valid in metric names but reserved for recording rules, so it is replaced too.
pub(crate) fn push_name(out: &mut String, name: &str) {
    if out.is_empty() && name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    if name.is_empty() && out.is_empty() {
        out.push('_');
    }
    for c in name.chars() {
        out.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
}

/// A label name: sanitised as [`push_name`], and never starting with `__`, which
/// Prometheus reserves for its own labels.
pub(crate) fn label_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    label_name_into(&mut out, name);
    out
}

/// [`label_name`] into `out`, which is cleared first.
pub(crate) fn label_name_into(out: &mut String, name: &str) {
    out.clear();
    push_name(out, name);
    if out.starts_with("__") {
        let underscores = out.len() - out.trim_start_matches('_').len();
        out.replace_range(..underscores, "_");
    }
}

/// A stack of names that keeps its strings when popped, so pushing them again (the same
/// label names on every scrape) does not allocate.
#[derive(Debug, Default)]
pub(crate) struct NameStack {
    names: Vec<String>,
    len: usize,
}

impl NameStack {
    pub(crate) fn push(&mut self, name: &str) {
        match self.names.get_mut(self.len) {
            Some(kept) => name.clone_into(kept),
            None => self.names.push(name.to_owned()),
        }
        self.len += 1;
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, index: usize) -> Option<&str> {
        self.names[..self.len].get(index).map(String::as_str)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.names[..self.len].iter().any(|kept| kept == name)
    }
}

/// Appends a label value, escaped: `\` as `\\`, `"` as `\"`, newline as `\n`. Any
/// other character, non-ASCII included, is valid UTF-8 in both formats and kept.
pub(crate) fn push_label_value(out: &mut Vec<u8>, value: &str) {
    escape(out, value, true);
}

/// Appends `HELP` text, escaped: `\` and newline always, `"` only in OpenMetrics
/// (the text format keeps it literally).
pub(crate) fn push_help(out: &mut Vec<u8>, help: &str, openmetrics: bool) {
    escape(out, help, openmetrics);
}

fn escape(out: &mut Vec<u8>, value: &str, quotes: bool) {
    let bytes = value.as_bytes();
    // Most values need nothing escaped: one copy, not one per clean run.
    if !bytes
        .iter()
        .any(|&byte| byte == b'\\' || byte == b'\n' || (quotes && byte == b'"'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    let mut clean_from = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quotes => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[clean_from..index]);
        out.extend_from_slice(escaped);
        clean_from = index + 1;
    }
    out.extend_from_slice(&bytes[clean_from..]);
}

/// Appends `name="value"` (escaped) to rendered labels.
pub(crate) fn push_label(labels: &mut Vec<u8>, name: &str, value: &str) {
    if !labels.is_empty() {
        labels.push(b',');
    }
    labels.extend_from_slice(name.as_bytes());
    labels.extend_from_slice(b"=\"");
    push_label_value(labels, value);
    labels.push(b'"');
}

/// Appends a sample value: shortest round-trip decimal, `NaN`, `+Inf` or `-Inf`.
pub(crate) fn push_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
    } else if value.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if value > 0.0 {
        out.extend_from_slice(b"+Inf");
    } else {
        out.extend_from_slice(b"-Inf");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(parts: &[&str]) -> String {
        let mut out = String::new();
        for part in parts {
            if !out.is_empty() {
                out.push('_');
            }
            push_name(&mut out, part);
        }
        out
    }

    fn escaped(value: &str, quotes: bool) -> String {
        let mut out = Vec::new();
        escape(&mut out, value, quotes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(name(&["queue", "pending"]), "queue_pending");
        assert_eq!(name(&["http.requests-total"]), "http_requests_total");
        assert_eq!(name(&["2xx", "9"]), "_2xx_9");
        assert_eq!(name(&["a:b", "héllo"]), "a_b_h_llo");
        assert_eq!(name(&[""]), "_");
        assert_eq!(label_name("__name__"), "_name__");
        assert_eq!(label_name("status code"), "status_code");
        assert_eq!(label_name("1st"), "_1st");
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escaped("a\\b\"c\nd é", true), r#"a\\b\"c\nd é"#);
        assert_eq!(escaped("a\\b\"c\nd", false), r#"a\\b"c\nd"#);
    }

    #[test]
    fn numbers() {
        let mut out = Vec::new();
        for value in [1.0, 0.25, 1e-5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            push_f64(&mut out, value);
            out.push(b' ');
        }
        assert_eq!(out, b"1.0 0.25 0.00001 NaN +Inf -Inf ");
    }
}
