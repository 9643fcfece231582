//! Which of two link-time definitions of one name is served.

use std::fmt;

use crate::vars::entry::Site;

/// Two link-time definitions that claim the same name. The first by source location is
/// served; see [`conflicts`](super::conflicts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The contested name.
    pub name: &'static str,
    /// The definition that is served.
    pub kept: Site,
    /// The definition that is ignored.
    pub ignored: Site,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expvar name {:?} is defined twice: at {} and at {}; serving the one at {}",
            self.name, self.kept, self.ignored, self.kept
        )
    }
}

/// Keeps the first of the link-time `entries` with each name, ordered by name and then
/// source site so the same binary always keeps the same one, and reports the others.
pub(crate) fn first_of_each_name<T>(
    mut entries: Vec<T>,
    name_and_site: impl Fn(&T) -> (&'static str, Site),
) -> (Vec<T>, Vec<Conflict>) {
    entries.sort_by_key(|entry| name_and_site(entry));
    let mut kept: Vec<T> = Vec::with_capacity(entries.len());
    let mut conflicts = Vec::new();
    for entry in entries {
        let (name, site) = name_and_site(&entry);
        // Sorted, so a duplicate follows the entry it duplicates.
        match kept.last().map(&name_and_site) {
            Some((kept_name, kept_site)) if kept_name == name => conflicts.push(Conflict {
                name,
                kept: kept_site,
                ignored: site,
            }),
            _ => kept.push(entry),
        }
    }
    for conflict in &conflicts {
        // Two definitions in one binary is a build mistake: say so loudly, once.
        eprintln!("{conflict}");
        log::error!("{conflict}");
    }
    (kept, conflicts)
}
