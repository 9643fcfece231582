//! Targets from a file in Prometheus `file_sd` form, re-read when it changes:
//!
//! ```json
//! [{"targets": ["10.0.0.5:6060", "http://ops:secret@10.0.0.6:6060"],
//!   "labels": {"env": "prod"},
//!   "bearer_token": "optional, for every target of the group",
//!   "basic_auth": "optional USER:PASSWORD"}]
//! ```
//!
//! A file that would lose series is refused whole, naming the group: a label that is
//! not a valid Prometheus label name, or one the bridge's series already carry
//! ([`DOCUMENT_LABELS`]), or a target given twice. At start that is an error; a changed
//! file that is refused keeps the previous targets, and says why on stderr.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Deserialize;

use crate::target::{target_names, Auth, Target};

/// Labels the bridge's series carry already, so a group may not add them: `target`, and
/// the labels a document's series carry ([`RESERVED_LABELS`](expvar::prometheus::RESERVED_LABELS):
/// `key` of its maps, `le`, `quantile`, `function`, ...). A series given one twice would
/// be left out.
pub const DOCUMENT_LABELS: &[&str] = &["target"];

/// Why the label `name` cannot be a group's, if it cannot.
fn refused_label(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Some(format!(
            "label {name:?} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
        ));
    }
    if name.starts_with("__") {
        return Some(format!(
            "label `{name}`: names starting with `__` are Prometheus's own"
        ));
    }
    if DOCUMENT_LABELS.contains(&name) || expvar::prometheus::RESERVED_LABELS.contains(&name) {
        return Some(format!(
            "label `{name}` is one the bridge's series carry already"
        ));
    }
    None
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    basic_auth: Option<String>,
    #[serde(default)]
    bearer_token: Option<String>,
}

/// Parses a targets file's contents. `default_auth` applies to groups without their own.
///
/// ```
/// use expvar_cli::targets_file::parse;
///
/// let targets = parse(r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}]"#, None).unwrap();
/// assert_eq!(targets[1].authority, "b:2");
/// assert_eq!(targets[1].labels, [("env".to_owned(), "prod".to_owned())]);
/// ```
pub fn parse(text: &str, default_auth: Option<&Auth>) -> Result<Vec<Target>, String> {
    let groups: Vec<Group> = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let mut targets = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        let refuse = |why: String| {
            let first = group.targets.first().map_or("no targets", String::as_str);
            format!("group {} (targets {first:?}...): {why}", index + 1)
        };
        if let Some(why) = group.labels.keys().find_map(|name| refused_label(name)) {
            return Err(refuse(why));
        }
        let auth = match (&group.basic_auth, &group.bearer_token) {
            (Some(_), Some(_)) => return Err(refuse("both basic_auth and bearer_token".into())),
            (Some(basic), None) => Some(Auth::basic(basic).map_err(refuse)?),
            (None, Some(token)) => Some(Auth::Bearer(token.clone())),
            (None, None) => default_auth.cloned(),
        };
        for url in &group.targets {
            let mut target = Target::parse(url, auth.as_ref()).map_err(refuse)?;
            target.labels = group
                .labels
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            targets.push(target);
        }
    }
    Ok(targets)
}

/// A target and its `target` label (see [`target_names`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub target: Target,
    pub name: String,
}

/// The targets to read: the command line's, then a targets file's as it is now.
pub struct Targets {
    command_line: Vec<Target>,
    file: Option<TargetsFile>,
    current: Arc<Vec<Named>>,
}

/// A targets file and the version of it read last.
struct TargetsFile {
    path: PathBuf,
    default_auth: Option<Auth>,
    /// Modification time and length of the version read, to notice a change.
    version: Option<(SystemTime, u64)>,
}

impl Targets {
    /// The command line's targets and, if given, the file's (`path` and the auth for
    /// groups without their own). A file that cannot be read or is refused, a target
    /// given twice, or no target at all is an error here.
    pub fn new(
        command_line: Vec<Target>,
        file: Option<(PathBuf, Option<Auth>)>,
    ) -> Result<Targets, String> {
        let mut targets = Targets {
            command_line,
            file: file.map(|(path, default_auth)| TargetsFile {
                path,
                default_auth,
                version: None,
            }),
            current: Arc::default(),
        };
        if targets.command_line.is_empty() && targets.file.is_none() {
            return Err("no targets: give URLs or --targets-file".into());
        }
        match targets.reload() {
            Ok(_) => Ok(targets),
            Err(error) => match &targets.file {
                Some(file) => Err(format!("{}: {error}", file.path.display())),
                None => Err(error),
            },
        }
    }

    /// The targets now, the file re-read first if it changed. A changed file that is
    /// refused (or caught half-written) keeps the previous targets, and says why once.
    pub fn current(&mut self) -> Arc<Vec<Named>> {
        if let Err(error) = self.reload() {
            let path = self.file.as_ref().map(|file| file.path.display());
            eprintln!(
                "expvar: {}: {error}; keeping the previous targets",
                path.expect("only a file changes")
            );
        }
        Arc::clone(&self.current)
    }

    /// Re-reads the file if it changed; `Ok(true)` if the targets changed.
    fn reload(&mut self) -> Result<bool, String> {
        let mut targets = self.command_line.clone();
        if let Some(file) = &mut self.file {
            let describe = |error: std::io::Error| error.to_string();
            let metadata = std::fs::metadata(&file.path).map_err(describe)?;
            let version = (
                metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                metadata.len(),
            );
            if file.version == Some(version) {
                return Ok(false);
            }
            let text = std::fs::read_to_string(&file.path).map_err(describe)?;
            // Remember this version even if it is refused, so it is reported once.
            file.version = Some(version);
            targets.extend(parse(&text, file.default_auth.as_ref())?);
        } else if !self.current.is_empty() {
            return Ok(false);
        }
        let names = target_names(&targets)?;
        self.current = Arc::new(
            targets
                .into_iter()
                .zip(names)
                .map(|(target, name)| Named { target, name })
                .collect(),
        );
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_carry_auth_and_labels() {
        let text = r#"[
            {"targets": ["a:1"], "basic_auth": "u:p"},
            {"targets": ["http://x:y@b:2/vars"], "bearer_token": "t"},
            {"targets": ["c:3"], "labels": {"zone": "z1", "env": "e"}}
        ]"#;
        let targets = parse(text, Some(&Auth::Bearer("default".into()))).unwrap();
        assert_eq!(targets[0].auth, Some(Auth::basic("u:p").unwrap()));
        // Credentials in the URL win over the group's.
        assert_eq!(targets[1].auth, Some(Auth::basic("x:y").unwrap()));
        assert_eq!(targets[1].path, "/vars");
        assert_eq!(targets[2].auth, Some(Auth::Bearer("default".into())));
        assert_eq!(
            targets[2].labels,
            [("env".into(), "e".into()), ("zone".into(), "z1".into())]
        );
        assert!(parse(r#"[{"targets": ["a:1"], "oops": 1}]"#, None).is_err());
        assert!(parse("not json", None).is_err());
    }

    #[test]
    fn labels_that_would_lose_series_refuse_the_group() {
        for labels in [
            r#"{"le": "1"}"#,
            r#"{"quantile": "x"}"#,
            r#"{"key": "x"}"#,
            r#"{"target": "x"}"#,
            r#"{"function": "x"}"#,
            r#"{"a.b": "x", "a_b": "y"}"#,
            r#"{"9lives": "x"}"#,
            r#"{"__name__": "x"}"#,
            r#"{"": "x"}"#,
        ] {
            let text = format!(
                r#"[{{"targets": ["ok:1"]}}, {{"targets": ["a:1", "b:2"], "labels": {labels}}}]"#
            );
            let error = parse(&text, None).unwrap_err();
            assert!(
                error.starts_with("group 2 (targets \"a:1\"...): "),
                "{error}"
            );
        }
        let error = parse(r#"[{"targets": ["a:1"], "labels": {"le": "1"}}]"#, None).unwrap_err();
        assert!(
            error.contains("label `le` is one the bridge's series carry"),
            "{error}"
        );
        assert!(parse(
            r#"[{"targets": ["a:1"], "labels": {"_ok": "1", "env2": "x"}}]"#,
            None
        )
        .is_ok());
    }

    #[test]
    fn rereads_on_change_and_keeps_targets_on_a_refused_file() {
        let dir = std::env::temp_dir().join(format!("expvar-cli-targets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("targets.json");
        let command_line = vec![Target::parse("http://c:3/vars", None).unwrap()];
        std::fs::write(&path, r#"[{"targets": ["a:1"]}]"#).unwrap();
        let mut targets = Targets::new(command_line.clone(), Some((path.clone(), None))).unwrap();
        assert_eq!(targets.current().len(), 2);
        // A different length is a change even within the file system's time resolution.
        std::fs::write(&path, r#"[{"targets": ["a:1", "b:2"]}]"#).unwrap();
        let names: Vec<String> = targets
            .current()
            .iter()
            .map(|named| named.name.clone())
            .collect();
        assert_eq!(names, ["c:3", "a:1", "b:2"]);
        // Half-written, a refused label, a target given twice: the previous targets stay.
        for refused in [
            r#"[{"targets": ["a:1", "b:2""#,
            r#"[{"targets": ["a:1", "b:2", "d:4"], "labels": {"le": "x"}}]"#,
            r#"[{"targets": ["a:1", "b:2", "a:1"]}]"#,
            r#"[{"targets": ["a:1", "b:2", "http://c:3/vars"]}]"#,
        ] {
            std::fs::write(&path, refused).unwrap();
            assert_eq!(targets.current().len(), 3, "{refused}");
        }
        // Two paths on one host:port: each is named by its URL.
        std::fs::write(&path, r#"[{"targets": ["http://c:3/alt"]}]"#).unwrap();
        let names: Vec<String> = targets
            .current()
            .iter()
            .map(|named| named.name.clone())
            .collect();
        assert_eq!(names, ["http://c:3/vars", "http://c:3/alt"]);
        // At start, a refused file is an error naming the file.
        std::fs::write(&path, r#"[{"targets": ["a:1"], "labels": {"key": "x"}}]"#).unwrap();
        let error = Targets::new(command_line, Some((path.clone(), None)))
            .err()
            .unwrap();
        assert!(error.contains("targets.json: group 1"), "{error}");
        assert!(Targets::new(Vec::new(), None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
