//! Link-time entries: what the macros register through `inventory`, where each was
//! defined, and which of two definitions of one name is served.

use std::fmt;
use std::panic::Location;

use crate::vars::Var;

/// Where a variable was defined or published: a source file and line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Site {
    /// Source file, as `file!()` gives it.
    pub file: &'static str,
    /// Line in `file`.
    pub line: u32,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl From<&'static Location<'static>> for Site {
    fn from(location: &'static Location<'static>) -> Self {
        Site {
            file: location.file(),
            line: location.line(),
        }
    }
}

/// A variable registered at link time. Emitted by the macros through
/// `inventory::submit!`; see [`__private`](crate::__private).
#[doc(hidden)]
pub struct Entry {
    pub(crate) name: &'static str,
    pub(crate) var: fn() -> &'static dyn Var,
    pub(crate) site: Site,
}

impl Entry {
    /// An entry publishing `var()` as `name`, defined at `file:line`.
    pub const fn new(
        name: &'static str,
        var: fn() -> &'static dyn Var,
        file: &'static str,
        line: u32,
    ) -> Self {
        Entry {
            name,
            var,
            site: Site { file, line },
        }
    }
}

inventory::collect!(Entry);

/// Two link-time definitions that claim the same name. The first by source location is
/// served; see [`conflicts`].
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
