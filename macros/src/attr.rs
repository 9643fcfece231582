//! Parsing `#[expvar(...)]` and the arguments of `#[counted(...)]`, `#[timed(...)]` and
//! `#[publish(...)]`, with `parse_nested_meta`. Every mistake is recorded in the
//! [`Ctxt`] and parsing goes on, so all of them are reported at once.
//!
//! This module reports what is wrong with the *form* of an attribute: a key the macro
//! does not take, a key given twice, a value of the wrong shape (a number where a string
//! literal goes, no list where a list goes). What the values *say* (an empty name,
//! bucket bounds out of order, a list element that is not a label) is validated in
//! [`check`](crate::check), with the rest of the validation.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, ExprPath, Lit, LitStr, Path};

use crate::ctxt::Ctxt;

/// `#[expvar(name = "...")]` on a struct, `#[counted(name = "...")]`: the published name.
pub(crate) const NAME: &str = "name";
/// `#[expvar(crate = path)]`: where the `expvar` crate is, for crates re-exporting it.
pub(crate) const CRATE: &str = "crate";
/// `#[expvar(rename = "...")]` on a field: the field's JSON key.
pub(crate) const RENAME: &str = "rename";
/// `#[expvar(label = "...")]` on a `Map` field: the name of its keys.
pub(crate) const LABEL: &str = "label";
/// `#[timed(buckets = [..])]`, `#[expvar(buckets = [..])]` on a `Histogram` field: the
/// Prometheus `le` bounds.
pub(crate) const BUCKETS: &str = "buckets";
/// `#[timed(native)]`, `#[expvar(native)]` on a `Histogram` field: served as a native
/// histogram.
pub(crate) const NATIVE: &str = "native";
/// `#[expvar(labels = ["method", "status"])]` on a `Map` of maps: the label of each level.
pub(crate) const LABELS: &str = "labels";
/// `#[expvar(skip)]` on a field or a method: leave it out.
pub(crate) const SKIP: &str = "skip";
/// `#[counted(objective = "99.9%")]`, `#[timed(objective = "99% < 250ms")]`: a service
/// level objective on the function.
pub(crate) const OBJECTIVE: &str = "objective";
/// `objective_name = "checkout"`: the objective the function's calls count toward,
/// shared by every function that names it (the function's key by default).
pub(crate) const OBJECTIVE_NAME: &str = "objective_name";
/// `window = "7d"`: the objective's window (30 days by default).
pub(crate) const WINDOW: &str = "window";

/// The helper attribute of the derive and of methods in an instrumented `impl`.
pub(crate) const EXPVAR: &str = "expvar";

/// Bucket bounds as written (`buckets = [..]`); [`check`](crate::check) reports a list
/// that is empty, holds something other than a number, or is not finite and increasing.
#[derive(Clone)]
pub(crate) struct Buckets {
    /// The list, for the span of an error about all of it.
    pub(crate) list: syn::ExprArray,
    /// Each element with its value, `None` if it is not a number literal.
    pub(crate) bounds: Vec<(Expr, Option<f64>)>,
}

impl Buckets {
    /// `&[b0, b1, ..]`, an `&'static [f64]` in a `const` context. Only for checked
    /// bounds: every element is a number.
    pub(crate) fn to_slice(&self) -> TokenStream {
        let bounds = self.bounds.iter().map(|(element, bound)| {
            let bound = bound.expect("bucket bounds are checked before expansion");
            let span = element.span();
            let mut literal = proc_macro2::Literal::f64_suffixed(bound.abs());
            literal.set_span(span);
            if bound.is_sign_negative() {
                quote::quote_spanned!(span=> -#literal)
            } else {
                quote::quote!(#literal)
            }
        });
        quote::quote!(&[#(#bounds),*])
    }
}

/// Label names as written (`labels = ["method", "status"]`); [`check`](crate::check)
/// reports an empty list and elements that are not non-empty strings.
#[derive(Clone)]
pub(crate) struct Labels {
    pub(crate) list: syn::ExprArray,
}

impl Labels {
    /// The elements that are string literals: all of them once checked.
    pub(crate) fn names(&self) -> impl Iterator<Item = &LitStr> {
        self.list.elems.iter().filter_map(|element| match element {
            Expr::Lit(ExprLit {
                lit: Lit::Str(text),
                ..
            }) => Some(text),
            _ => None,
        })
    }
}

/// One attribute value, remembered with its key for spans.
#[derive(Clone)]
pub(crate) struct Setting<T> {
    pub(crate) key: syn::Ident,
    pub(crate) value: T,
}

/// `#[expvar(...)]` on a struct.
#[derive(Default)]
pub(crate) struct StructAttrs {
    pub(crate) name: Option<Setting<LitStr>>,
    pub(crate) krate: Option<Setting<Path>>,
}

/// `#[expvar(...)]` on a field, plus its doc comment.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) rename: Option<Setting<LitStr>>,
    pub(crate) label: Option<Setting<LitStr>>,
    pub(crate) labels: Option<Setting<Labels>>,
    pub(crate) buckets: Option<Setting<Buckets>>,
    pub(crate) native: Option<Setting<()>>,
    pub(crate) skip: Option<Setting<()>>,
    pub(crate) doc: Option<String>,
}

/// The arguments of `#[counted(...)]`, `#[timed(...)]` or `#[publish(...)]`.
#[derive(Clone, Default)]
pub(crate) struct MacroArgs {
    pub(crate) name: Option<Setting<LitStr>>,
    pub(crate) krate: Option<Setting<Path>>,
    /// `#[timed]` only.
    pub(crate) buckets: Option<Setting<Buckets>>,
    /// `objective = "..."`, each time it is given: a success rate and a latency may
    /// both be (`check` reports two of one kind).
    pub(crate) objectives: Vec<Setting<LitStr>>,
    pub(crate) objective_name: Option<Setting<LitStr>>,
    pub(crate) window: Option<Setting<LitStr>>,
    /// `#[timed]` only.
    pub(crate) native: Option<Setting<()>>,
}

impl MacroArgs {
    /// Parses the tokens inside the macro's parentheses.
    pub(crate) fn parse(cx: &mut Ctxt, macro_name: &str, args: TokenStream) -> Self {
        let mut parsed = MacroArgs::default();
        let parser = syn::meta::parser(|meta| {
            parsed.parse_key(cx, macro_name, &meta);
            Ok(())
        });
        if let Err(error) = parser.parse2(args) {
            cx.syn_error(error);
        }
        parsed
    }

    /// Parses the arguments of a sibling attribute (`#[timed(...)]` seen by `#[counted]`)
    /// into `self`.
    pub(crate) fn parse_attr(&mut self, cx: &mut Ctxt, macro_name: &str, attr: &Attribute) {
        if let syn::Meta::Path(_) = attr.meta {
            return;
        }
        let result = attr.parse_nested_meta(|meta| {
            self.parse_key(cx, macro_name, &meta);
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }

    fn parse_key(&mut self, cx: &mut Ctxt, macro_name: &str, meta: &ParseNestedMeta<'_>) {
        match key_of(meta).as_deref() {
            Some(NAME) => {
                let value = parse_lit_str(cx, meta, NAME);
                set(cx, &mut self.name, meta, value);
            }
            Some(CRATE) => {
                let value = parse_path(cx, meta, CRATE);
                set(cx, &mut self.krate, meta, value);
            }
            Some(BUCKETS) if macro_name == "timed" => {
                let value = parse_buckets(cx, meta, BUCKETS);
                set(cx, &mut self.buckets, meta, value);
            }
            Some(OBJECTIVE) if macro_name != "publish" => {
                if let (Some(value), Some(key)) =
                    (parse_lit_str(cx, meta, OBJECTIVE), meta.path.get_ident())
                {
                    self.objectives.push(Setting {
                        key: key.clone(),
                        value,
                    });
                }
            }
            Some(OBJECTIVE_NAME) if macro_name != "publish" => {
                let value = parse_lit_str(cx, meta, OBJECTIVE_NAME);
                set(cx, &mut self.objective_name, meta, value);
            }
            Some(WINDOW) if macro_name != "publish" => {
                let value = parse_lit_str(cx, meta, WINDOW);
                set(cx, &mut self.window, meta, value);
            }
            Some(NATIVE) if macro_name == "timed" => {
                let value = parse_flag(cx, meta, NATIVE);
                set(cx, &mut self.native, meta, value);
            }
            Some(key @ (BUCKETS | NATIVE)) if macro_name == "counted" => {
                cx.error_spanned_by(
                    &meta.path,
                    format!(
                        "`{key}` is an argument of `#[timed]`: `#[counted]` records no durations"
                    ),
                );
                skip_value(cx, meta);
            }
            _ => unknown(cx, meta, &format!("unknown `#[{macro_name}]` argument")),
        }
    }
}

/// Parses the `#[expvar(...)]` attributes of a struct.
pub(crate) fn struct_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let mut parsed = StructAttrs::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(EXPVAR)) {
        let result = attr.parse_nested_meta(|meta| {
            match key_of(&meta).as_deref() {
                Some(NAME) => {
                    let value = parse_lit_str(cx, &meta, NAME);
                    set(cx, &mut parsed.name, &meta, value);
                }
                Some(CRATE) => {
                    let value = parse_path(cx, &meta, CRATE);
                    set(cx, &mut parsed.krate, &meta, value);
                }
                _ => unknown(cx, &meta, "unknown expvar attribute"),
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    parsed
}

/// Parses the `#[expvar(...)]` attributes and the doc comment of a field.
pub(crate) fn field_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut parsed = FieldAttrs {
        doc: doc_comment(attrs),
        ..FieldAttrs::default()
    };
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(EXPVAR)) {
        let result = attr.parse_nested_meta(|meta| {
            match key_of(&meta).as_deref() {
                Some(RENAME) => {
                    let value = parse_lit_str(cx, &meta, RENAME);
                    set(cx, &mut parsed.rename, &meta, value);
                }
                Some(LABEL) => {
                    let value = parse_lit_str(cx, &meta, LABEL);
                    set(cx, &mut parsed.label, &meta, value);
                }
                Some(LABELS) => {
                    let value = parse_labels(cx, &meta, LABELS);
                    set(cx, &mut parsed.labels, &meta, value);
                }
                Some(BUCKETS) => {
                    let value = parse_buckets(cx, &meta, BUCKETS);
                    set(cx, &mut parsed.buckets, &meta, value);
                }
                Some(NATIVE) => {
                    let value = parse_flag(cx, &meta, NATIVE);
                    set(cx, &mut parsed.native, &meta, value);
                }
                Some(SKIP) => {
                    let value = parse_flag(cx, &meta, SKIP);
                    set(cx, &mut parsed.skip, &meta, value);
                }
                _ => unknown(cx, &meta, "unknown expvar attribute"),
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    parsed
}

/// Parses `#[expvar(...)]` on a method of an instrumented `impl`: only `skip` applies.
/// Returns whether the method is skipped.
pub(crate) fn method_skip(cx: &mut Ctxt, attrs: &[Attribute]) -> bool {
    let mut skip = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(EXPVAR)) {
        let result = attr.parse_nested_meta(|meta| {
            if key_of(&meta).as_deref() == Some(SKIP) {
                let value = parse_flag(cx, &meta, SKIP);
                set(cx, &mut skip, &meta, value);
            } else {
                unknown(cx, &meta, "unknown expvar attribute on a method");
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    skip.is_some()
}

/// The doc comment of an item, one line, for help text: lines trimmed and joined by
/// spaces, blank lines dropped.
pub(crate) fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(syn::MetaNameValue {
            value:
                Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }),
            ..
        }) = &attr.meta
        {
            let text = text.value();
            lines.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    (!lines.is_empty()).then(|| lines.join(" "))
}

/// The key as a string, or `None` for a path with more than one segment.
fn key_of(meta: &ParseNestedMeta<'_>) -> Option<String> {
    meta.path.get_ident().map(ToString::to_string)
}

/// Stores a parsed value, reporting a duplicate at its second occurrence.
fn set<T>(
    cx: &mut Ctxt,
    slot: &mut Option<Setting<T>>,
    meta: &ParseNestedMeta<'_>,
    value: Option<T>,
) {
    let Some(value) = value else { return };
    let Some(key) = meta.path.get_ident().cloned() else {
        return;
    };
    if slot.is_some() {
        cx.error_spanned_by(&key, format!("duplicate expvar attribute `{key}`"));
    } else {
        *slot = Some(Setting { key, value });
    }
}

/// Reports an unknown key and skips its value, so the next key still parses.
fn unknown(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, what: &str) {
    let path = &meta.path;
    let shown = quote::quote!(#path).to_string().replace(' ', "");
    cx.error_spanned_by(path, format!("{what} `{shown}`"));
    skip_value(cx, meta);
}

fn skip_value(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) {
    let result = if meta.input.peek(syn::Token![=]) {
        meta.value()
            .and_then(|value| value.parse::<Expr>())
            .map(drop)
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|nested| {
            skip_value(cx, &nested);
            Ok(())
        })
    } else {
        Ok(())
    };
    if let Err(error) = result {
        cx.syn_error(error);
    }
}

/// `key = "string"`.
fn parse_lit_str(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> Option<LitStr> {
    match parse_value(cx, meta, key, &format!("`{key} = \"...\"`"))? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some(text),
        other => {
            cx.error_spanned_by(
                &other,
                format!("expected a string literal, as in `{key} = \"...\"`"),
            );
            None
        }
    }
}

/// `buckets = [0.001, 0.01, 0.1]`: a list.
fn parse_buckets(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> Option<Buckets> {
    let list = parse_list(cx, meta, key, "a list of bucket bounds", BUCKETS_EXAMPLE)?;
    let bounds = list
        .elems
        .iter()
        .map(|element| (element.clone(), number(element)))
        .collect();
    Some(Buckets { list, bounds })
}

/// `labels = ["method", "status"]`: a list.
fn parse_labels(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> Option<Labels> {
    let list = parse_list(cx, meta, key, "a list of label names", LABELS_EXAMPLE)?;
    Some(Labels { list })
}

/// How a bucket list is written, for messages: `buckets = [0.001, 0.01, 0.1]`.
pub(crate) const BUCKETS_EXAMPLE: &str = "[0.001, 0.01, 0.1]";
/// How a label list is written, for messages: `labels = ["method", "status"]`.
pub(crate) const LABELS_EXAMPLE: &str = r#"["method", "status"]"#;

/// `key = [..]`.
fn parse_list(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    what: &str,
    example: &str,
) -> Option<syn::ExprArray> {
    let example = format!("`{key} = {example}`");
    match parse_value(cx, meta, key, &example)? {
        Expr::Array(array) => Some(array),
        other => {
            cx.error_spanned_by(&other, format!("expected {what}, as in {example}"));
            None
        }
    }
}

/// The value of a number literal, negative or not (`0.5`, `64`, `-1e3`).
fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Float(float),
            ..
        }) => float.base10_parse().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_digits().parse().ok(),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => number(expr).map(|value: f64| -value),
        Expr::Group(group) => number(&group.expr),
        _ => None,
    }
}

/// `crate = path` or `crate = "path"`.
fn parse_path(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> Option<Path> {
    match parse_value(cx, meta, key, &format!("`{key} = my_crate::expvar`"))? {
        Expr::Path(ExprPath {
            path, qself: None, ..
        }) => Some(path),
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => match text.parse::<Path>() {
            Ok(path) => Some(path),
            Err(_) => {
                cx.error_spanned_by(
                    &text,
                    format!("expected a path, as in `{key} = my_crate::expvar`"),
                );
                None
            }
        },
        other => {
            cx.error_spanned_by(
                &other,
                format!("expected a path, as in `{key} = my_crate::expvar`"),
            );
            None
        }
    }
}

/// A key without a value: `skip`.
fn parse_flag(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> Option<()> {
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(&meta.path, format!("`{key}` takes no value, write `{key}`"));
        skip_value(cx, meta);
        None
    } else {
        Some(())
    }
}

fn parse_value(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
) -> Option<Expr> {
    if !meta.input.peek(syn::Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format!("`{key}` needs a value, as in {example}"),
        );
        skip_value(cx, meta);
        return None;
    }
    match meta.value().and_then(|value| value.parse::<Expr>()) {
        Ok(expr) => Some(expr),
        Err(error) => {
            cx.syn_error(error);
            None
        }
    }
}
