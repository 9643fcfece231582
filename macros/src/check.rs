//! Validation across attributes and item shapes, after parsing: each problem is
//! recorded in the [`Ctxt`] at the token to change.

use std::collections::BTreeSet;

use syn::{Data, Fields};

use crate::ast::{Function, Kind, Stats};
use crate::ctxt::Ctxt;

/// Checks a `#[derive(Expvar)]` input.
pub(crate) fn stats(cx: &mut Ctxt, stats: &Stats<'_>) {
    let input = stats.input;
    match &input.data {
        Data::Enum(data) => cx.error_spanned_by(
            data.enum_token,
            "`#[derive(Expvar)]` cannot be used on an enum; use a struct with named fields",
        ),
        Data::Union(data) => cx.error_spanned_by(
            data.union_token,
            "`#[derive(Expvar)]` cannot be used on a union; use a struct with named fields",
        ),
        Data::Struct(data) => {
            if let Fields::Unnamed(fields) = &data.fields {
                cx.error_spanned_by(
                    fields,
                    "`#[derive(Expvar)]` needs named fields, not a tuple struct: their names are the JSON keys",
                );
            }
        }
    }
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "`#[derive(Expvar)]` cannot be used on a generic struct: `global()` needs one concrete type",
        );
    }

    let mut names = BTreeSet::new();
    for field in &stats.fields {
        let attrs = &field.attrs;
        if attrs.skip.is_some() {
            let keys = [
                attrs.rename.as_ref().map(|setting| &setting.key),
                attrs.label.as_ref().map(|setting| &setting.key),
                attrs.labels.as_ref().map(|setting| &setting.key),
                attrs.buckets.as_ref().map(|setting| &setting.key),
            ];
            for key in keys.into_iter().flatten() {
                cx.error_spanned_by(
                    key,
                    format!("`{key}` has no effect on a field marked `skip`"),
                );
            }
            continue;
        }
        if let (Some(_), Some(labels)) = (&attrs.label, &attrs.labels) {
            cx.error_spanned_by(
                &labels.key,
                "`label` names one level and `labels` every level: use one",
            );
        }
        if let (true, Some(buckets)) = (
            attrs.label.is_some() || attrs.labels.is_some(),
            &attrs.buckets,
        ) {
            cx.error_spanned_by(
                &buckets.key,
                "`buckets` applies to a `Histogram` field and `label` to a `Map` field: use one",
            );
        }
        let name = field.name();
        if !names.insert(name.clone()) {
            match &attrs.rename {
                Some(rename) => cx.error_spanned_by(
                    &rename.value,
                    format!("duplicate field name `{name}` in the JSON object"),
                ),
                None => cx.error_spanned_by(
                    &field.member,
                    format!("duplicate field name `{name}` in the JSON object"),
                ),
            }
        }
    }
}

/// Checks a function to instrument with `#[counted]`/`#[timed]` (`kind` is the one
/// expanding, for messages).
pub(crate) fn function(cx: &mut Ctxt, kind: Kind, function: &Function) {
    if let Some(constness) = &function.sig.constness {
        cx.error_spanned_by(
            constness,
            format!(
                "`#[{}]` cannot be used on a `const fn`: a const fn cannot record at run time",
                kind.name()
            ),
        );
    }
}
