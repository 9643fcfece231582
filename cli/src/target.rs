//! A service to read: where its `/debug/vars` is, how to authenticate, and the
//! `target` label it gets.

use std::collections::{HashMap, HashSet};
use std::fmt;

use base64::Engine;

/// How to authenticate to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP Basic: `user:password`.
    Basic { user: String, password: String },
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
}

impl Auth {
    /// Parses `user:password` for Basic auth.
    pub fn basic(credentials: &str) -> Result<Auth, String> {
        let (user, password) = credentials
            .split_once(':')
            // Not quoted back: it may be a password or a token given by mistake.
            .ok_or("expected USER:PASSWORD, without a ':' in what was given")?;
        Ok(Auth::Basic {
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }

    /// The value of the `Authorization` header.
    pub fn header(&self) -> String {
        match self {
            Auth::Basic { user, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            ),
            Auth::Bearer(token) => format!("Bearer {token}"),
        }
    }
}

/// One service: `http://host:port/path`, or `https://` (TLS, see
/// [`fetch::use_ca_file`](crate::fetch::use_ca_file)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Whether it is read over TLS.
    pub https: bool,
    /// `host:port`: what is connected to, and the `target` label.
    pub authority: String,
    /// The path of the document, `/debug/vars` unless the URL names another.
    pub path: String,
    pub auth: Option<Auth>,
    /// Extra labels, from a targets file.
    pub labels: Vec<(String, String)>,
}

impl Target {
    /// Parses `host:port`, `http://host:port` or `http://[user:password@]host:port/path`
    /// (or `https://`, port 443 unless given). Credentials in the URL win over
    /// `default_auth`.
    ///
    /// ```
    /// use expvar_cli::target::{Auth, Target};
    ///
    /// let target = Target::parse("http://ops:secret@10.0.0.5:6060", None).unwrap();
    /// assert_eq!(target.authority, "10.0.0.5:6060");
    /// assert_eq!(target.path, "/debug/vars");
    /// assert_eq!(target.auth, Some(Auth::basic("ops:secret").unwrap()));
    /// assert_eq!(Target::parse("localhost", None).unwrap().authority, "localhost:80");
    /// let secure = Target::parse("https://metrics.example", None).unwrap();
    /// assert_eq!((secure.https, secure.authority.as_str()), (true, "metrics.example:443"));
    /// ```
    pub fn parse(url: &str, default_auth: Option<&Auth>) -> Result<Target, String> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if url.contains("://") {
            return Err(format!(
                "{url}: only http:// and https:// URLs are supported"
            ));
        } else {
            (false, url)
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        };
        let (auth, host_port) = match authority.rsplit_once('@') {
            Some((credentials, host_port)) => (Some(Auth::basic(credentials)?), host_port),
            None => (default_auth.cloned(), authority),
        };
        if host_port.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let has_port = match host_port.rfind(']') {
            Some(bracket) => host_port[bracket..].contains(':'),
            None => host_port.contains(':'),
        };
        let authority = match (has_port, https) {
            (true, _) => host_port.to_owned(),
            (false, false) => format!("{host_port}:80"),
            (false, true) => format!("{host_port}:443"),
        };
        let path = if path.is_empty() || path == "/" {
            "/debug/vars".to_owned()
        } else {
            path.to_owned()
        };
        Ok(Target {
            https,
            authority,
            path,
            auth,
            labels: Vec::new(),
        })
    }
}

/// The `target` label of each of `targets`, in order: its `host:port`, or its whole URL
/// (without credentials) where several targets share a `host:port`, so no two targets'
/// series are the same. The same URL given twice is an error naming it.
///
/// ```
/// use expvar_cli::target::{target_names, Target};
///
/// let targets: Vec<Target> = ["a:1", "http://b:2/good", "http://b:2/alt"]
///     .iter()
///     .map(|url| Target::parse(url, None).unwrap())
///     .collect();
/// assert_eq!(target_names(&targets).unwrap(), ["a:1", "http://b:2/good", "http://b:2/alt"]);
/// let twice = [targets[0].clone(), Target::parse("http://a:1/debug/vars", None).unwrap()];
/// assert!(target_names(&twice).unwrap_err().contains("http://a:1/debug/vars"));
/// ```
pub fn target_names(targets: &[Target]) -> Result<Vec<String>, String> {
    let mut per_authority: HashMap<&str, usize> = HashMap::new();
    let mut urls = HashSet::new();
    for target in targets {
        if !urls.insert((target.https, &target.authority, &target.path)) {
            return Err(format!(
                "{target} is given twice: its series would be duplicates"
            ));
        }
        *per_authority.entry(&target.authority).or_default() += 1;
    }
    Ok(targets
        .iter()
        .map(|target| match per_authority[target.authority.as_str()] {
            1 => target.authority.clone(),
            _ => target.to_string(),
        })
        .collect())
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_of_a_target() {
        let plain = Target::parse("127.0.0.1:6060", None).unwrap();
        assert_eq!(plain.to_string(), "http://127.0.0.1:6060/debug/vars");
        assert_eq!(plain.auth, None);
        let custom = Target::parse("http://host:9/vars.json", None).unwrap();
        assert_eq!(custom.path, "/vars.json");
        let ipv6 = Target::parse("[::1]", None).unwrap();
        assert_eq!(ipv6.authority, "[::1]:80");
        let bearer = Auth::Bearer("t0k".into());
        assert_eq!(
            Target::parse("h:1", Some(&bearer)).unwrap().auth,
            Some(bearer)
        );
        let secure = Target::parse("https://h:1/v", None).unwrap();
        assert!(secure.https);
        assert_eq!(secure.to_string(), "https://h:1/v");
        assert!(Target::parse("ftp://h:1", None).is_err());
        assert!(Target::parse("http:///x", None).is_err());
    }

    #[test]
    fn auth_headers() {
        assert_eq!(
            Auth::basic("user:pass").unwrap().header(),
            "Basic dXNlcjpwYXNz"
        );
        assert_eq!(Auth::Bearer("abc".into()).header(), "Bearer abc");
        assert!(Auth::basic("nocolon").is_err());
    }
}
