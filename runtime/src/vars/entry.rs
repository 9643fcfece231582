//! Link-time entries: what the macros (and the built-in statistics) register through
//! `inventory`, and where each was defined. The registry collects them.

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
