//! Validation, after parsing: what the values say (an empty name, bucket bounds out of
//! order), how attributes combine, and which items a macro applies to. Each problem is
//! recorded in the [`Ctxt`] at the token to change. Parsing ([`attr`](crate::attr))
//! reports only the form of an attribute.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Data, Expr, ExprLit, Fields, Item, Lit, LitStr, StaticMutability};

use crate::ast::{Function, ImplBlock, Instrument, Kind, Stats};
use crate::attr::{
    Buckets, Labels, MacroArgs, Setting, BUCKETS, BUCKETS_EXAMPLE, LABELS, LABELS_EXAMPLE, NATIVE,
    OBJECTIVE, OBJECTIVE_NAME, WINDOW,
};
use crate::ctxt::Ctxt;
use crate::objective::{default_buckets, format_seconds, parse_objective, parse_window};

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

    non_empty(cx, stats.attrs.name.as_ref());
    let mut names = BTreeSet::new();
    for field in &stats.fields {
        let attrs = &field.attrs;
        non_empty(cx, attrs.rename.as_ref());
        non_empty(cx, attrs.label.as_ref());
        if let Some(labels) = &attrs.labels {
            label_list(cx, &labels.value);
        }
        if let Some(buckets) = &attrs.buckets {
            bucket_list(cx, &buckets.value);
        }
        if attrs.skip.is_some() {
            let keys = [
                attrs.rename.as_ref().map(|setting| &setting.key),
                attrs.label.as_ref().map(|setting| &setting.key),
                attrs.labels.as_ref().map(|setting| &setting.key),
                attrs.buckets.as_ref().map(|setting| &setting.key),
                attrs.native.as_ref().map(|setting| &setting.key),
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
        if let (true, Some(native)) = (
            attrs.label.is_some() || attrs.labels.is_some(),
            &attrs.native,
        ) {
            cx.error_spanned_by(
                &native.key,
                "`native` applies to a `Histogram` field and `label` to a `Map` field: use one",
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

/// Checks the item under `#[counted]`/`#[timed]`: a function or an `impl` block.
pub(crate) fn instrumented_item(cx: &mut Ctxt, kind: Kind, item: &Item) {
    if !matches!(item, Item::Fn(_) | Item::Impl(_)) {
        cx.error_spanned_by(
            item_keyword(item),
            format!(
                "`#[{}]` can only be used on a function or an `impl` block",
                kind.name()
            ),
        );
    }
}

/// Checks an `impl` block under `#[counted]`/`#[timed]` and its methods.
pub(crate) fn impl_block(cx: &mut Ctxt, kind: Kind, block: &ImplBlock) {
    if let Some(name) = &block.instrument.args.name {
        cx.error_spanned_by(
            &name.key,
            format!(
                "`name` cannot be used on an `impl` block: each method has its own entry; \
                 write `#[{}(name = \"...\")]` on the method",
                kind.name()
            ),
        );
    }
    let args_ = &block.instrument.args;
    args(cx, args_);
    objectives(
        cx,
        &block.instrument,
        args_.buckets.as_ref().map(|setting| &setting.value),
        args_.native.is_some(),
        &args_.objectives,
        args_,
    );
    for (_, method) in &block.methods {
        function(cx, kind, method);
    }
}

/// Checks a function to instrument with `#[counted]`/`#[timed]` (`kind` is the one
/// expanding, for messages). For a method, only its own arguments: the block's are
/// checked once, with the block.
pub(crate) fn function(cx: &mut Ctxt, kind: Kind, function: &Function) {
    let own = &function.instrument.args;
    args(cx, own);
    let all: Vec<Setting<LitStr>> = function.objectives().cloned().collect();
    let native = function.native();
    objectives(
        cx,
        &function.instrument,
        function.buckets(),
        native,
        &all,
        own,
    );
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

/// Checks the item under `#[publish]`: a `static` that is not `mut`.
pub(crate) fn published_item(cx: &mut Ctxt, item: &Item) {
    match item {
        Item::Static(item) => {
            if let StaticMutability::Mut(mutability) = &item.mutability {
                cx.error_spanned_by(
                    mutability,
                    "`#[publish]` cannot be used on a `static mut`: variables update through `&self`, remove `mut`",
                );
            }
        }
        other => cx.error_spanned_by(
            item_keyword(other),
            "`#[publish]` can only be used on a `static`",
        ),
    }
}

/// Checks the values of one attribute's arguments.
pub(crate) fn args(cx: &mut Ctxt, args: &MacroArgs) {
    non_empty(cx, args.name.as_ref());
    if let Some(buckets) = &args.buckets {
        bucket_list(cx, &buckets.value);
    }
    non_empty(cx, args.objective_name.as_ref());
    for objective in &args.objectives {
        if let Err(message) = parse_objective(&objective.value.value()) {
            cx.error_spanned_by(&objective.value, message);
        }
    }
    if let Some(window) = &args.window {
        if let Err(message) = parse_window(&window.value.value()) {
            cx.error_spanned_by(&window.value, message);
        }
    }
}

/// Checks how the objectives given in `own` (the arguments being checked) combine with
/// what the function records: one objective of each kind among `all` (those of its
/// `impl` block first), a latency objective only on a timed function and, unless its
/// durations are native, at one of its bucket bounds (`buckets`, or the default ones),
/// and `objective_name` and `window` only with an objective.
fn objectives(
    cx: &mut Ctxt,
    instrument: &Instrument,
    buckets: Option<&Buckets>,
    native: bool,
    all: &[Setting<LitStr>],
    own: &MacroArgs,
) {
    if all.is_empty() {
        for (key, setting) in [(OBJECTIVE_NAME, &own.objective_name), (WINDOW, &own.window)] {
            if let Some(setting) = setting {
                cx.error_spanned_by(
                    &setting.key,
                    format!("`{key}` applies to an objective: add `{OBJECTIVE} = \"99.9%\"`"),
                );
            }
        }
        return;
    }
    let own_start = all.len() - own.objectives.len();
    let mut seen = [false; 2];
    for (index, objective) in all.iter().enumerate() {
        let Ok(promise) = parse_objective(&objective.value.value()) else {
            continue;
        };
        let latency = promise.threshold.is_some();
        let is_own = index >= own_start;
        if std::mem::replace(&mut seen[usize::from(latency)], true) && is_own {
            let what = if latency { "latency" } else { "success-rate" };
            cx.error_spanned_by(
                &objective.value,
                format!("a function has one {what} objective, and this is a second one"),
            );
            continue;
        }
        let Some(threshold) = promise.threshold.filter(|_| is_own) else {
            continue;
        };
        if !instrument.timed {
            cx.error_spanned_by(
                &objective.value,
                "a latency objective needs durations, and `#[counted]` records none: \
                 write it in `#[timed(objective = \"...\")]`, or add `#[timed]`",
            );
            continue;
        }
        if native {
            // Any threshold: counted at the fine buckets every histogram keeps.
            continue;
        }
        let bounds: Vec<f64> = match buckets {
            Some(buckets) => buckets
                .bounds
                .iter()
                .filter_map(|(_, bound)| *bound)
                .collect(),
            None => default_buckets().collect(),
        };
        if !bounds.contains(&threshold) {
            let which = if buckets.is_some() {
                "the function's `buckets`"
            } else {
                "the default buckets (powers of two)"
            };
            let shown: Vec<String> = bounds.iter().map(|bound| format_seconds(*bound)).collect();
            cx.error_spanned_by(
                &objective.value,
                format!(
                    "the latency threshold {} is not a bucket bound of {which}, so calls \
                     within it cannot be counted exactly: use one of {}, add it to \
                     `{BUCKETS} = [..]`, or make the durations `{NATIVE}`",
                    format_seconds(threshold),
                    shown.join(", ")
                ),
            );
        }
    }
}

/// `key = ""` names nothing.
fn non_empty(cx: &mut Ctxt, setting: Option<&Setting<LitStr>>) {
    if let Some(Setting { key, value }) = setting {
        if value.value().is_empty() {
            cx.error_spanned_by(value, format!("`{key}` must not be empty"));
        }
    }
}

/// Bucket bounds: numbers, finite and increasing, at least one.
fn bucket_list(cx: &mut Ctxt, buckets: &Buckets) {
    if buckets.bounds.is_empty() {
        cx.error_spanned_by(
            &buckets.list,
            format!("`{BUCKETS}` needs at least one bound, as in `{BUCKETS} = {BUCKETS_EXAMPLE}`"),
        );
    }
    let mut previous: Option<f64> = None;
    for (element, bound) in &buckets.bounds {
        let Some(bound) = *bound else {
            cx.error_spanned_by(element, "expected a number literal as a bucket bound");
            continue;
        };
        if !bound.is_finite() {
            cx.error_spanned_by(element, "bucket bounds must be finite");
        } else if let Some(previous) = previous.filter(|&previous| bound <= previous) {
            cx.error_spanned_by(
                element,
                format!("bucket bounds must be increasing: {bound} is not greater than {previous}"),
            );
        }
        previous = Some(bound);
    }
}

/// Label names: non-empty strings, at least one.
fn label_list(cx: &mut Ctxt, labels: &Labels) {
    if labels.list.elems.is_empty() {
        cx.error_spanned_by(
            &labels.list,
            format!("`{LABELS}` needs at least one label, as in `{LABELS} = {LABELS_EXAMPLE}`"),
        );
    }
    for element in &labels.list.elems {
        let valid = matches!(
            element,
            Expr::Lit(ExprLit { lit: Lit::Str(text), .. }) if !text.value().is_empty()
        );
        if !valid {
            cx.error_spanned_by(element, "expected a non-empty string as a label name");
        }
    }
}

/// The token that says what kind of item this is (`struct`, `enum`, ...), where an
/// error about using a macro on the wrong kind of item belongs.
fn item_keyword(item: &Item) -> TokenStream {
    match item {
        Item::Const(item) => item.const_token.to_token_stream(),
        Item::Enum(item) => item.enum_token.to_token_stream(),
        Item::ExternCrate(item) => item.extern_token.to_token_stream(),
        Item::Fn(item) => item.sig.fn_token.to_token_stream(),
        Item::ForeignMod(item) => item.abi.to_token_stream(),
        Item::Impl(item) => item.impl_token.to_token_stream(),
        Item::Macro(item) => item.mac.path.to_token_stream(),
        Item::Mod(item) => item.mod_token.to_token_stream(),
        Item::Static(item) => item.static_token.to_token_stream(),
        Item::Struct(item) => item.struct_token.to_token_stream(),
        Item::Trait(item) => item.trait_token.to_token_stream(),
        Item::TraitAlias(item) => item.trait_token.to_token_stream(),
        Item::Type(item) => item.type_token.to_token_stream(),
        Item::Union(item) => item.union_token.to_token_stream(),
        Item::Use(item) => item.use_token.to_token_stream(),
        other => other.to_token_stream(),
    }
}
