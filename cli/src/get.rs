//! `expvar get`: one document, or one value in it, pretty-printed for scripts.

use std::time::Duration;

use serde_json::Value;

use crate::fetch::fetch;
use crate::limits::Limits;
use crate::select::lookup;
use crate::target::Target;

/// The text `expvar get` prints: the value at `path` (the whole document when `None`),
/// strings bare so shells can use them, everything else as pretty JSON.
///
/// ```
/// let doc = serde_json::json!({"version": "1.2.3", "api": {"ok": 5}});
/// assert_eq!(expvar_cli::get::render(&doc, Some("version")).unwrap(), "1.2.3");
/// assert_eq!(expvar_cli::get::render(&doc, Some("api.ok")).unwrap(), "5");
/// assert!(expvar_cli::get::render(&doc, Some("api.nope")).is_err());
/// ```
pub fn render(doc: &Value, path: Option<&str>) -> Result<String, String> {
    let value = match path {
        Some(path) => lookup(doc, path).ok_or_else(|| format!("no value at {path:?}"))?,
        None => doc,
    };
    Ok(match value {
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).expect("a JSON value serialises"),
    })
}

/// Fetches `target` and renders `path`; the error says why for stderr.
pub fn run(
    target: &Target,
    path: Option<&str>,
    timeout: Duration,
    limits: Limits,
) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let fetched = runtime.block_on(fetch(target, timeout, limits));
    let doc = fetched
        .result
        .map_err(|error| format!("{target}: {error}"))?;
    render(&doc, path)
}
