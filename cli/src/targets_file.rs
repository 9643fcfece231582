//! Targets from a file in Prometheus `file_sd` form, re-read when it changes:
//!
//! ```json
//! [{"targets": ["10.0.0.5:6060", "http://ops:secret@10.0.0.6:6060"],
//!   "labels": {"env": "prod"},
//!   "bearer_token": "optional, for every target of the group",
//!   "basic_auth": "optional USER:PASSWORD"}]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::Deserialize;

use crate::target::{Auth, Target};

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
    for group in groups {
        let auth = match (&group.basic_auth, &group.bearer_token) {
            (Some(_), Some(_)) => return Err("a group has both basic_auth and bearer_token".into()),
            (Some(basic), None) => Some(Auth::basic(basic)?),
            (None, Some(token)) => Some(Auth::Bearer(token.clone())),
            (None, None) => default_auth.cloned(),
        };
        for url in &group.targets {
            let mut target = Target::parse(url, auth.as_ref())?;
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

/// A targets file and what it said when last read.
pub struct TargetsFile {
    path: PathBuf,
    default_auth: Option<Auth>,
    /// Modification time and length of the version read, to notice a change.
    version: Option<(SystemTime, u64)>,
    targets: Vec<Target>,
}

impl TargetsFile {
    /// Reads the file once; a file that cannot be read or parsed is an error here.
    pub fn open(path: impl Into<PathBuf>, default_auth: Option<Auth>) -> Result<Self, String> {
        let mut file = TargetsFile {
            path: path.into(),
            default_auth,
            version: None,
            targets: Vec::new(),
        };
        file.reload()?;
        Ok(file)
    }

    /// The targets, re-read first if the file changed. A changed file that does not
    /// parse (such as one caught half-written) keeps the previous targets.
    pub fn targets(&mut self) -> &[Target] {
        if let Err(error) = self.reload() {
            eprintln!(
                "{}: {error}; keeping the previous targets",
                self.path.display()
            );
        }
        &self.targets
    }

    fn reload(&mut self) -> Result<(), String> {
        let describe = |error: std::io::Error| error.to_string();
        let metadata = std::fs::metadata(&self.path).map_err(describe)?;
        let version = (
            metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            metadata.len(),
        );
        if self.version == Some(version) {
            return Ok(());
        }
        let text = std::fs::read_to_string(&self.path).map_err(describe)?;
        // Remember this version even if it fails, so a bad file is reported once.
        self.version = Some(version);
        self.targets = parse(&text, self.default_auth.as_ref())?;
        Ok(())
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
    fn rereads_on_change_and_keeps_targets_on_a_bad_file() {
        let dir = std::env::temp_dir().join(format!("expvar-cli-targets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("targets.json");
        std::fs::write(&path, r#"[{"targets": ["a:1"]}]"#).unwrap();
        let mut file = TargetsFile::open(&path, None).unwrap();
        assert_eq!(file.targets().len(), 1);
        // A different length is a change even within the file system's time resolution.
        std::fs::write(&path, r#"[{"targets": ["a:1", "b:2"]}]"#).unwrap();
        assert_eq!(file.targets().len(), 2);
        std::fs::write(&path, r#"[{"targets": ["a:1", "b:2""#).unwrap();
        assert_eq!(file.targets().len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
