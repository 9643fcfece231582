//! Metric families: who owns which name.

use std::collections::HashMap;

/// What a family is, as its `TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FamilyType {
    Counter,
    Gauge,
    Histogram,
    /// A string value: a series of value 1 whose label holds the string.
    Info,
}

impl FamilyType {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            FamilyType::Counter => "counter",
            FamilyType::Gauge => "gauge",
            FamilyType::Histogram => "histogram",
            FamilyType::Info => "info",
        }
    }

    /// Every sample name suffix the family owns besides its own name, `_created`
    /// included (OpenMetrics gives counters and histograms a creation time), so no
    /// other family can take one of them.
    pub(super) fn suffixes(self) -> &'static [&'static str] {
        match self {
            FamilyType::Counter => &["_total", "_created"],
            FamilyType::Gauge => &[],
            FamilyType::Histogram => &["_bucket", "_sum", "_count", "_created"],
            FamilyType::Info => &["_info"],
        }
    }

    /// The suffix a family name drops because its type adds it to the samples.
    pub(super) fn implied_suffix(self) -> Option<&'static str> {
        match self {
            FamilyType::Counter => Some("_total"),
            FamilyType::Info => Some("_info"),
            FamilyType::Gauge | FamilyType::Histogram => None,
        }
    }
}

/// A metric family: its name, its type, and who may write to it.
#[derive(Debug)]
pub(crate) struct Family {
    /// The family name: for counters without `_total`, for info without `_info`.
    pub(crate) name: String,
    pub(crate) kind: FamilyType,
    /// Who may write to the family (see `owner` in the mapping): two variables whose
    /// names sanitise alike do not share one.
    pub(crate) owner: String,
}

/// Why a name could not get a family.
pub(super) enum Refusal<'a> {
    /// The same owner wrote it as another type.
    OtherType(FamilyType),
    /// Another owner has the name, or one of its sample names.
    Taken { name: String, owner: &'a str },
}

/// Every family of one document, and every metric name in use.
///
/// Kept from one document to the next on the rendering thread (see `Mapping::new`):
/// [`clear`](Self::clear) keeps the strings and the table's room, so a warm scrape
/// names its families without allocating.
#[derive(Default)]
pub(super) struct Families {
    pub(super) list: Vec<Family>,
    /// Every metric name in use, sample suffixes included, to the family using it.
    claims: HashMap<String, usize>,
    /// The family written last: map entries hit it without a lookup.
    last: Option<usize>,
    /// Families and claimed names of earlier documents, to reuse their strings.
    spare: Vec<Family>,
    spare_names: Vec<String>,
    /// Where a sample name is put together to be looked up.
    probe: String,
}

impl Families {
    /// Forgets every family, keeping their strings for the next document's.
    pub(super) fn clear(&mut self) {
        self.spare.append(&mut self.list);
        self.spare_names
            .extend(self.claims.drain().map(|(name, _)| name));
        self.last = None;
    }

    /// A string holding `parts`, one of the spare ones if there is one.
    fn name(spare: &mut Vec<String>, parts: [&str; 2]) -> String {
        let mut name = spare.pop().unwrap_or_default();
        name.clear();
        name.push_str(parts[0]);
        name.push_str(parts[1]);
        name
    }

    /// The family written last, if it is `name` of type `kind` for `owner`: the usual
    /// case (map entries, one after the other), answered with no lookup.
    pub(super) fn last_if(&self, name: &str, kind: FamilyType, owner: &str) -> Option<usize> {
        let index = self.last?;
        let family = &self.list[index];
        (family.name == name && family.kind == kind && family.owner == owner).then_some(index)
    }

    /// The family `name` of type `kind` for `owner`, if it exists.
    pub(super) fn find(
        &mut self,
        name: &str,
        kind: FamilyType,
        owner: &str,
    ) -> Result<Option<usize>, Refusal<'_>> {
        let found = match self.last {
            Some(index) if self.list[index].name == name => Some(index),
            _ => self.claims.get(name).copied(),
        };
        if let Some(index) = found {
            let family = &self.list[index];
            if family.name == name && family.kind == kind && family.owner == owner {
                self.last = Some(index);
                return Ok(Some(index));
            }
            if family.name == name && family.owner == owner {
                return Err(Refusal::OtherType(family.kind));
            }
            return Err(Refusal::Taken {
                name: name.to_owned(),
                owner: &self.list[index].owner,
            });
        }
        for suffix in kind.suffixes() {
            self.probe.clear();
            self.probe.push_str(name);
            self.probe.push_str(suffix);
            if let Some(&index) = self.claims.get(&self.probe) {
                return Err(Refusal::Taken {
                    name: self.probe.clone(),
                    owner: &self.list[index].owner,
                });
            }
        }
        Ok(None)
    }

    /// Adds a family; its index.
    pub(super) fn add(&mut self, name: &str, kind: FamilyType, owner: &str) -> usize {
        let index = self.list.len();
        for suffix in kind.suffixes() {
            let sample = Families::name(&mut self.spare_names, [name, suffix]);
            self.claims.insert(sample, index);
        }
        let claim = Families::name(&mut self.spare_names, [name, ""]);
        self.claims.insert(claim, index);
        let mut family = self.spare.pop().unwrap_or(Family {
            name: String::new(),
            kind,
            owner: String::new(),
        });
        name.clone_into(&mut family.name);
        family.kind = kind;
        owner.clone_into(&mut family.owner);
        self.list.push(family);
        self.last = Some(index);
        index
    }

    /// Forgets the families created since `families_before`.
    pub(super) fn roll_back(&mut self, families_before: usize) {
        self.spare.extend(self.list.drain(families_before..));
        self.claims.retain(|_, index| *index < families_before);
        self.last = None;
    }
}

/// An owner as people read it: `dupe.y`, `functions=` for a named family.
pub(super) fn readable(owner: &str) -> String {
    let mut out = String::with_capacity(owner.len());
    push_readable(&mut out, owner);
    out
}

/// Appends [`readable`]`(owner)` to `out`.
pub(super) fn push_readable(out: &mut String, owner: &str) {
    let start = out.len();
    let mut rest = owner;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('=') {
            out.push('=');
            rest = after;
            continue;
        }
        let Some((len, after)) = rest.split_once(':') else {
            out.push_str(rest);
            break;
        };
        let len: usize = len.parse().unwrap_or(after.len()).min(after.len());
        if out.len() > start && !out.ends_with('=') {
            out.push('.');
        }
        // The length counts bytes of a `&str` segment, so it ends on a char boundary.
        out.push_str(after.get(..len).unwrap_or(after));
        rest = after.get(len..).unwrap_or("");
    }
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn owners_read_as_paths() {
        assert_eq!(readable("4:dupe1:y"), "dupe.y");
        assert_eq!(readable("6:dupe\0y"), "dupe\0y");
        assert_eq!(readable("9:functions="), "functions=");
        assert_eq!(readable("1:a=1:b"), "a=b");
    }
}
