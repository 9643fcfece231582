//! Choosing values in a document: dotted paths (`memstats.HeapAlloc`), globs
//! (`functions.*.calls`) and the default choice of every numeric variable worth a row.

use serde_json::Value;

/// The value at a dotted `path`. A key that itself contains dots is found too.
///
/// ```
/// let doc = serde_json::json!({"memstats": {"HeapAlloc": 5}, "a.b": {"c": 1}});
/// assert_eq!(expvar_cli::select::lookup(&doc, "memstats.HeapAlloc"), Some(&serde_json::json!(5)));
/// assert_eq!(expvar_cli::select::lookup(&doc, "a.b.c"), Some(&serde_json::json!(1)));
/// assert_eq!(expvar_cli::select::lookup(&doc, "memstats.Nope"), None);
/// ```
pub fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(doc);
    }
    let object = doc.as_object()?;
    if let Some(value) = object.get(path) {
        return Some(value);
    }
    // The longest key that is a whole first segment, so `a.b` beats `a`.
    let mut found = None;
    for (dot, _) in path.match_indices('.') {
        if let Some(value) = object.get(&path[..dot]) {
            found = lookup(value, &path[dot + 1..]).or(found);
        }
    }
    found
}

/// Every number in `doc` with its dotted path, keys in sorted order. Arrays (Go's
/// `PauseNs` ring, `BySize`) and strings are left out; `true`/`false` are 1 and 0.
pub fn numbers(doc: &Value) -> Vec<(String, f64)> {
    fn walk(value: &Value, path: &mut String, out: &mut Vec<(String, f64)>) {
        match value {
            Value::Number(number) => {
                if let Some(number) = number.as_f64() {
                    out.push((path.clone(), number));
                }
            }
            Value::Bool(flag) => out.push((path.clone(), f64::from(u8::from(*flag)))),
            Value::Object(fields) => {
                for (key, value) in fields {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    walk(value, path, out);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut String::new(), &mut out);
    out
}

/// Whether `path` matches `pattern` segment by segment; `*` in a segment matches any
/// run of characters within that segment.
///
/// ```
/// use expvar_cli::select::matches;
/// assert!(matches("functions.*.calls", "functions.app::get.calls"));
/// assert!(matches("memstats.Heap*", "memstats.HeapAlloc"));
/// assert!(!matches("memstats.*", "memstats.BySize.Size"));
/// ```
pub fn matches(pattern: &str, path: &str) -> bool {
    let mut patterns = pattern.split('.');
    let mut segments = path.split('.');
    loop {
        match (patterns.next(), segments.next()) {
            (None, None) => return true,
            (Some(pattern), Some(segment)) if glob(pattern, segment) => {}
            _ => return false,
        }
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(text) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=text.len())
                .filter(|&start| text.is_char_boundary(start))
                .any(|start| glob(rest, &text[start..]))
        }
    }
}

/// Go's and our `memstats` fields shown by default: heap, total from the OS, objects
/// and garbage collections.
const DEFAULT_MEMSTATS: &[&str] = &[
    "memstats.HeapAlloc",
    "memstats.Sys",
    "memstats.HeapObjects",
    "memstats.NumGC",
    "memstats.PauseTotalNs",
];

/// Our `process` fields shown by default.
const DEFAULT_PROCESS: &[&str] = &[
    "process.uptime_seconds",
    "process.cpu_seconds",
    "process.resident_memory_bytes",
    "process.threads",
];

/// The paths to show for `doc`: those matching `patterns`, or without patterns the
/// sensible memstats and process figures and every number the program published.
///
/// ```
/// let doc = serde_json::json!({"requests": 3, "memstats": {"HeapAlloc": 5, "Lookups": 0},
///                              "api": {"ok": 1, "fail": 0}, "version": "1.2"});
/// assert_eq!(expvar_cli::select::choose(&doc, &[]),
///            ["memstats.HeapAlloc", "api.fail", "api.ok", "requests"]);
/// assert_eq!(expvar_cli::select::choose(&doc, &["api.*".to_owned()]), ["api.fail", "api.ok"]);
/// ```
pub fn choose(doc: &Value, patterns: &[String]) -> Vec<String> {
    let numbers = numbers(doc);
    if !patterns.is_empty() {
        let mut chosen = Vec::new();
        for pattern in patterns {
            for (path, _) in &numbers {
                if matches(pattern, path) && !chosen.contains(path) {
                    chosen.push(path.clone());
                }
            }
            // An exact path whose key holds dots is found by lookup, not by segments.
            if !pattern.contains('*')
                && !chosen.contains(pattern)
                && lookup(doc, pattern).is_some_and(Value::is_number)
            {
                chosen.push(pattern.clone());
            }
        }
        return chosen;
    }
    let mut chosen: Vec<String> = DEFAULT_MEMSTATS
        .iter()
        .chain(DEFAULT_PROCESS)
        .filter(|path| lookup(doc, path).is_some_and(Value::is_number))
        .map(|path| (*path).to_owned())
        .collect();
    let user = numbers.into_iter().filter(|(path, _)| {
        let top = path.split('.').next().unwrap_or("");
        !matches!(top, "memstats" | "process" | "cmdline" | "hardware")
            // Of a function's figures, its calls are the headline.
            && (top != "functions" || path.ends_with(".calls"))
    });
    chosen.extend(user.map(|(path, _)| path));
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_walk_objects_only() {
        let doc = json!({"a": 1, "b": {"c": 2.5, "d": [1, 2], "e": "x", "f": true}});
        assert_eq!(
            numbers(&doc),
            [
                ("a".to_owned(), 1.0),
                ("b.c".to_owned(), 2.5),
                ("b.f".to_owned(), 1.0)
            ]
        );
    }

    #[test]
    fn globs_stay_within_a_segment() {
        assert!(matches("*", "requests"));
        assert!(matches("a*c", "abbc"));
        assert!(!matches("a*c", "abbd"));
        assert!(!matches("*", "a.b"));
        assert!(matches("*.*", "a.b"));
        assert!(matches("p*_total", "process_total"));
    }

    #[test]
    fn default_choice_favours_figures_people_watch() {
        let doc = json!({
            "memstats": {"HeapAlloc": 1, "Sys": 2, "Lookups": 0, "PauseNs": [1, 2]},
            "process": {"uptime_seconds": 1.5, "pid": 7},
            "functions": {"app::get": {"calls": 3, "in_flight": 0}},
            "cmdline": ["x"],
            "goroutines": 4
        });
        assert_eq!(
            choose(&doc, &[]),
            [
                "memstats.HeapAlloc",
                "memstats.Sys",
                "process.uptime_seconds",
                "functions.app::get.calls",
                "goroutines"
            ]
        );
        assert_eq!(
            choose(
                &doc,
                &["goroutines".into(), "nope".into(), "memstats.S*".into()]
            ),
            ["goroutines", "memstats.Sys"]
        );
    }
}
