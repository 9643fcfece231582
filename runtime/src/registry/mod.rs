//! The registry of published variables: link-time entries collected by `inventory`,
//! plus variables published at run time. Every output is a view of it.

mod builtin;
pub(crate) mod functions;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::panic::Location;
use std::sync::{Arc, PoisonError, RwLock};

use once_cell::sync::Lazy;
use serde::Serialize;

use crate::vars::counter::Counter;
use crate::vars::func::Func;
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
    name: &'static str,
    var: fn() -> &'static dyn Var,
    site: Site,
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

/// A handle to a published variable: a `&'static` variable or a shared `Arc`.
///
/// Dereferences to `dyn Var`. [`get`] returns one; [`publish`] makes one from what it
/// is given (see [`IntoVarRef`]).
#[derive(Clone)]
pub struct VarRef(VarSource);

#[derive(Clone)]
enum VarSource {
    Static(&'static dyn Var),
    /// A link-time entry: called on each use, so a variable is only created when read
    /// and never while the registry itself is being built.
    Deferred(fn() -> &'static dyn Var),
    Shared(Arc<dyn Var>),
}

impl Deref for VarRef {
    type Target = dyn Var;

    fn deref(&self) -> &(dyn Var + 'static) {
        match &self.0 {
            VarSource::Static(var) => *var,
            VarSource::Deferred(var) => var(),
            VarSource::Shared(var) => &**var,
        }
    }
}

impl fmt::Debug for VarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VarRef(")?;
        f.write_str(&crate::render_json(&**self))?;
        f.write_str(")")
    }
}

/// What [`publish`] accepts: a `&'static` variable, an `Arc` of one, or a [`VarRef`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be published as an expvar variable",
    label = "expected `&'static V` or `Arc<V>` where `V: expvar::Var`",
    note = "publish a variable type such as `expvar::Counter`, `Gauge`, `Map<_>`, a struct with `#[derive(Expvar)]`, or a type implementing `expvar::Var`",
    note = "a borrowed variable must be `'static` (a `static` item); share run-time instances with `Arc::new(..)`"
)]
pub trait IntoVarRef {
    /// Converts into a registry handle.
    fn into_var_ref(self) -> VarRef;
}

impl<V: Var + 'static> IntoVarRef for &'static V {
    fn into_var_ref(self) -> VarRef {
        VarRef(VarSource::Static(self))
    }
}

impl<V: Var + 'static> IntoVarRef for Arc<V> {
    fn into_var_ref(self) -> VarRef {
        VarRef(VarSource::Shared(self))
    }
}

impl IntoVarRef for Arc<dyn Var> {
    fn into_var_ref(self) -> VarRef {
        VarRef(VarSource::Shared(self))
    }
}

impl IntoVarRef for VarRef {
    fn into_var_ref(self) -> VarRef {
        self
    }
}

/// Why [`publish`] refused a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The name is taken. Names are unique across the process.
    Duplicate {
        /// The contested name.
        name: String,
        /// Where the variable already registered under `name` comes from.
        existing: Site,
        /// Where the refused call was made.
        rejected: Site,
    },
    /// The name is empty.
    EmptyName {
        /// Where the refused call was made.
        rejected: Site,
    },
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Duplicate {
                name,
                existing,
                rejected,
            } => write!(
                f,
                "expvar variable name {name:?} is already published (at {existing}); \
                 the publish at {rejected} was rejected"
            ),
            PublishError::EmptyName { rejected } => {
                write!(
                    f,
                    "expvar variable names must not be empty (publish at {rejected})"
                )
            }
        }
    }
}

impl std::error::Error for PublishError {}

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

struct Published {
    var: VarRef,
    site: Site,
    link_time: bool,
}

struct Registry {
    vars: RwLock<BTreeMap<Arc<str>, Published>>,
    conflicts: Vec<Conflict>,
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

static REGISTRY: Lazy<Registry> = Lazy::new(|| {
    let entries: Vec<&Entry> = inventory::iter::<Entry>.into_iter().collect();
    let (entries, conflicts) = first_of_each_name(entries, |entry| (entry.name, entry.site));
    let vars = entries
        .into_iter()
        .map(|entry| {
            let published = Published {
                var: VarRef(VarSource::Deferred(entry.var)),
                site: entry.site,
                link_time: true,
            };
            (Arc::from(entry.name), published)
        })
        .collect();
    Registry {
        vars: RwLock::new(vars),
        conflicts,
    }
});

fn vars_read() -> std::sync::RwLockReadGuard<'static, BTreeMap<Arc<str>, Published>> {
    // The registry never panics while holding its lock; keep serving regardless.
    REGISTRY.vars.read().unwrap_or_else(PoisonError::into_inner)
}

/// Publishes `var` under `name` (Go's `expvar.Publish`).
///
/// `var` is a `&'static` variable or an `Arc` (for instances created at run time). Names
/// are unique: a taken name is an error naming both places, and nothing is replaced.
///
/// ```
/// use std::sync::Arc;
/// use expvar::{Counter, Gauge};
///
/// static REQUESTS: Counter = Counter::new();
/// expvar::publish("doc_publish_requests", &REQUESTS).unwrap();
///
/// // Per-object statistics, created at run time:
/// let pool_size = Arc::new(Gauge::new());
/// expvar::publish("doc_publish_pool_a", Arc::clone(&pool_size)).unwrap();
/// pool_size.set(8);
/// assert_eq!(expvar::render_json(&*expvar::get("doc_publish_pool_a").unwrap()), "8");
///
/// let err = expvar::publish("doc_publish_requests", Arc::new(Counter::new())).unwrap_err();
/// assert!(err.to_string().contains("already published"));
/// ```
#[track_caller]
pub fn publish(name: impl Into<String>, var: impl IntoVarRef) -> Result<(), PublishError> {
    let rejected = Site::from(Location::caller());
    let name = name.into();
    if name.is_empty() {
        return Err(PublishError::EmptyName { rejected });
    }
    let mut vars = REGISTRY
        .vars
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(existing) = vars.get(name.as_str()) {
        return Err(PublishError::Duplicate {
            name,
            existing: existing.site,
            rejected,
        });
    }
    let published = Published {
        var: var.into_var_ref(),
        site: rejected,
        link_time: false,
    };
    vars.insert(Arc::from(name), published);
    Ok(())
}

/// Publishes a value computed by `compute` each time it is read (Go's
/// `expvar.Publish(name, expvar.Func(f))`). See [`Func`].
///
/// ```
/// use std::time::Instant;
///
/// let started = Instant::now();
/// expvar::publish_func("doc_uptime_seconds", move || started.elapsed().as_secs()).unwrap();
/// assert!(expvar::to_json().contains("\"doc_uptime_seconds\": "));
/// ```
#[track_caller]
pub fn publish_func<F, T>(name: impl Into<String>, compute: F) -> Result<(), PublishError>
where
    F: Fn() -> T + Send + Sync + 'static,
    T: Serialize + 'static,
{
    publish(name, Arc::new(Func::new(compute)))
}

/// The variable published under `name` (Go's `expvar.Get`).
///
/// ```
/// static HITS: expvar::Counter = expvar::Counter::new();
/// expvar::publish("doc_get_hits", &HITS).unwrap();
/// assert!(expvar::get("doc_get_hits").is_some());
/// assert!(expvar::get("doc_get_missing").is_none());
/// ```
pub fn get(name: &str) -> Option<VarRef> {
    vars_read().get(name).map(|published| published.var.clone())
}

/// Removes a variable published at run time, returning it. Link-time variables (from
/// the macros) stay: their name belongs to the code that defines them.
///
/// ```
/// let pool = std::sync::Arc::new(expvar::Gauge::new());
/// expvar::publish("doc_unpublish_pool", pool).unwrap();
/// assert!(expvar::unpublish("doc_unpublish_pool").is_some());
/// assert!(expvar::get("doc_unpublish_pool").is_none());
/// ```
pub fn unpublish(name: &str) -> Option<VarRef> {
    let mut vars = REGISTRY
        .vars
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    if vars.get(name).is_some_and(|published| !published.link_time) {
        vars.remove(name).map(|published| published.var)
    } else {
        None
    }
}

/// Calls `visit` for every published variable in byte-wise sorted name order (Go's
/// `expvar.Do`).
///
/// Works on a snapshot, so `visit` may publish or read variables itself.
///
/// ```
/// let mut names = Vec::new();
/// expvar::for_each(|name, _var| names.push(name.to_owned()));
/// assert!(names.contains(&"cmdline".to_owned()));
/// assert!(names.windows(2).all(|pair| pair[0] < pair[1]));
/// ```
pub fn for_each(mut visit: impl FnMut(&str, &VarRef)) {
    for (name, var) in snapshot() {
        visit(&name, &var);
    }
}

/// Every published variable, sorted by name.
pub(crate) fn snapshot() -> Vec<(Arc<str>, VarRef)> {
    let mut vars = Vec::new();
    snapshot_into(&mut vars);
    vars
}

/// [`snapshot`] into a reused vector: no allocation once it has the capacity.
pub(crate) fn snapshot_into(vars: &mut Vec<(Arc<str>, VarRef)>) {
    vars.clear();
    vars.extend(
        vars_read()
            .iter()
            .map(|(name, published)| (Arc::clone(name), published.var.clone())),
    );
}

/// Link-time definitions that claimed a name already taken by another, with both
/// sites: variables (from `#[derive(Expvar)]`, `#[expvar::publish]`, `name = ...`) and
/// instrumented-function keys under `functions`. Each is also printed to standard error
/// and logged when its table is first used.
pub fn conflicts() -> Vec<Conflict> {
    let functions = crate::registry::functions::conflicts();
    REGISTRY
        .conflicts
        .iter()
        .chain(functions)
        .cloned()
        .collect()
}

static RENDER_FAILURES: Counter = Counter::new();

/// How many times a variable could not be rendered (a [`Func`] that panicked or whose
/// value failed to serialize, a [`Var`] that panicked) and was written as `null`.
pub fn render_failures() -> u64 {
    RENDER_FAILURES.get()
}

pub(crate) fn record_failure(name: &str, reason: &dyn fmt::Display) {
    RENDER_FAILURES.inc();
    log::warn!("expvar: variable {name:?} rendered as null: {reason}");
}
