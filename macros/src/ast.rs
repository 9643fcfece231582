//! The macros' view of their input: what to publish or instrument, with the `syn` nodes
//! kept for spans.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{
    Attribute, Block, Data, DeriveInput, Fields, ImplItem, ImplItemFn, ItemFn, ItemImpl, LitStr,
    Member, Path, ReturnType, Signature, Token, Type, Visibility,
};

use crate::attr::{self, Buckets, FieldAttrs, MacroArgs, Setting, StructAttrs, EXPVAR};
use crate::ctxt::Ctxt;

/// A struct with `#[derive(Expvar)]`.
pub(crate) struct Stats<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) attrs: StructAttrs,
    /// Named fields in declaration order; empty for anything but a struct with named
    /// fields (which `check` reports).
    pub(crate) fields: Vec<Field<'a>>,
}

/// One field of a derived struct.
pub(crate) struct Field<'a> {
    pub(crate) original: &'a syn::Field,
    pub(crate) member: Member,
    pub(crate) attrs: FieldAttrs,
}

impl<'a> Stats<'a> {
    pub(crate) fn from_syn(cx: &mut Ctxt, input: &'a DeriveInput) -> Self {
        let attrs = attr::struct_attrs(cx, &input.attrs);
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named
                    .named
                    .iter()
                    .map(|field| Field {
                        original: field,
                        member: Member::Named(field.ident.clone().expect("named field")),
                        attrs: attr::field_attrs(cx, &field.attrs),
                    })
                    .collect(),
                Fields::Unnamed(_) | Fields::Unit => Vec::new(),
            },
            Data::Enum(_) | Data::Union(_) => Vec::new(),
        };
        Stats {
            input,
            attrs,
            fields,
        }
    }

    /// The name the process-wide instance is published under.
    pub(crate) fn published_name(&self) -> String {
        match &self.attrs.name {
            Some(name) => name.value.value(),
            None => snake_case(&self.input.ident.unraw().to_string()),
        }
    }

    /// The path of the `expvar` crate in generated code.
    pub(crate) fn krate(&self) -> Path {
        krate(self.attrs.krate.as_ref().map(|setting| &setting.value))
    }
}

impl Field<'_> {
    /// The field's key in the JSON object.
    pub(crate) fn name(&self) -> String {
        match (&self.attrs.rename, &self.member) {
            (Some(rename), _) => rename.value.value(),
            (None, Member::Named(ident)) => ident.unraw().to_string(),
            (None, Member::Unnamed(index)) => index.index.to_string(),
        }
    }
}

/// Which attribute macro is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counted,
    Timed,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Counted => "counted",
            Kind::Timed => "timed",
        }
    }

    /// Whether `attr` is `#[counted]`/`#[timed]` (or `#[expvar::counted]`, ...), and which.
    pub(crate) fn of_attr(attr: &Attribute) -> Option<Kind> {
        let path = attr.path();
        let last = path.segments.last()?;
        let kind = if last.ident == "counted" {
            Kind::Counted
        } else if last.ident == "timed" {
            Kind::Timed
        } else {
            return None;
        };
        let qualified_by_us = path.segments.len() == 2 && path.segments[0].ident == "expvar";
        (path.segments.len() == 1 || qualified_by_us).then_some(kind)
    }
}

/// What to record for an instrumented function: `#[counted]` and `#[timed]` merged.
#[derive(Default)]
pub(crate) struct Instrument {
    pub(crate) counted: bool,
    pub(crate) timed: bool,
    pub(crate) args: MacroArgs,
    /// The paths of the sibling attributes merged into this one, as written
    /// (`timed`, `expvar::timed`): the expansion names them so the user's
    /// `use expvar::timed;` still counts as used.
    pub(crate) absorbed: Vec<Path>,
}

impl Instrument {
    pub(crate) fn new(kind: Kind, args: MacroArgs) -> Self {
        let mut instrument = Instrument {
            args,
            ..Instrument::default()
        };
        instrument.add(kind);
        instrument
    }

    fn add(&mut self, kind: Kind) {
        match kind {
            Kind::Counted => self.counted = true,
            Kind::Timed => self.timed = true,
        }
    }

    /// Takes the sibling `#[counted]`/`#[timed]` attributes out of `attrs` into `self`,
    /// so a function with both is expanded once, with one entry.
    pub(crate) fn absorb_siblings(&mut self, cx: &mut Ctxt, attrs: &mut Vec<Attribute>) {
        let mut kept = Vec::with_capacity(attrs.len());
        for attr in attrs.drain(..) {
            match Kind::of_attr(&attr) {
                Some(kind) => {
                    let mut sibling = MacroArgs::default();
                    sibling.parse_attr(cx, kind.name(), &attr);
                    self.merge(cx, sibling);
                    self.add(kind);
                    self.absorbed.push(attr.path().clone());
                }
                None => kept.push(attr),
            }
        }
        *attrs = kept;
    }

    /// Merges the arguments of a sibling attribute; a key given twice is an error at
    /// the second one.
    fn merge(&mut self, cx: &mut Ctxt, sibling: MacroArgs) {
        merge_setting(cx, &mut self.args.name, sibling.name);
        merge_setting(cx, &mut self.args.krate, sibling.krate);
        merge_setting(cx, &mut self.args.buckets, sibling.buckets);
        // A success rate on one and a latency on the other combine.
        self.args.objectives.extend(sibling.objectives);
        merge_setting(cx, &mut self.args.objective_name, sibling.objective_name);
        merge_setting(cx, &mut self.args.window, sibling.window);
        merge_setting(cx, &mut self.args.native, sibling.native);
    }
}

fn merge_setting<T>(cx: &mut Ctxt, slot: &mut Option<Setting<T>>, sibling: Option<Setting<T>>) {
    let Some(sibling) = sibling else { return };
    if slot.is_some() {
        let key = &sibling.key;
        cx.error_spanned_by(key, format!("duplicate expvar attribute `{key}`"));
    } else {
        *slot = Some(sibling);
    }
}

/// The `impl` a method is in, for its key: `Type::method` or `<Type as Trait>::method`.
#[derive(Clone)]
pub(crate) struct Owner {
    pub(crate) self_ty: String,
    pub(crate) trait_: Option<String>,
}

impl Owner {
    pub(crate) fn from_impl(item: &ItemImpl) -> Self {
        let self_ty = match &*item.self_ty {
            Type::Path(path) if path.qself.is_none() => path.path.segments.last().map_or_else(
                || compact(&path.path),
                |segment| segment.ident.unraw().to_string(),
            ),
            other => compact(other),
        };
        let trait_ = item.trait_.as_ref().map(|(_, path, _)| {
            path.segments.last().map_or_else(
                || compact(path),
                |segment| segment.ident.unraw().to_string(),
            )
        });
        Owner { self_ty, trait_ }
    }

    /// `Type` or `<Type as Trait>`.
    pub(crate) fn prefix(&self) -> String {
        match &self.trait_ {
            Some(trait_) => format!("<{} as {}>", self.self_ty, trait_),
            None => self.self_ty.clone(),
        }
    }
}

/// A function or method to instrument.
pub(crate) struct Function {
    /// Outer attributes, without the `#[counted]`/`#[timed]`/`#[expvar]` ones.
    pub(crate) attrs: Vec<Attribute>,
    /// Inner attributes of the body (`#![allow(..)]`), kept at the top of the new body.
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) defaultness: Option<Token![default]>,
    pub(crate) sig: Signature,
    pub(crate) block: Block,
    pub(crate) owner: Option<Owner>,
    /// What the function's own attributes say (for a method: the ones on the method).
    pub(crate) instrument: Instrument,
    /// For a method, the arguments of the `impl` block's attribute, which apply where
    /// the method's own say nothing.
    pub(crate) inherited: Option<MacroArgs>,
}

impl Function {
    pub(crate) fn from_item_fn(item: ItemFn, instrument: Instrument) -> Self {
        let (inner_attrs, attrs) = split_inner(item.attrs);
        Function {
            attrs,
            inner_attrs,
            vis: item.vis,
            defaultness: None,
            sig: item.sig,
            block: *item.block,
            owner: None,
            instrument,
            inherited: None,
        }
    }

    pub(crate) fn from_impl_fn(
        item: ImplItemFn,
        owner: Owner,
        instrument: Instrument,
        inherited: MacroArgs,
    ) -> Self {
        let (inner_attrs, attrs) = split_inner(item.attrs);
        Function {
            attrs,
            inner_attrs,
            vis: item.vis,
            defaultness: item.defaultness,
            sig: item.sig,
            block: item.block,
            owner: Some(owner),
            instrument,
            inherited: Some(inherited),
        }
    }

    /// The function's name, `Type::method` in an instrumented `impl`.
    pub(crate) fn display_name(&self) -> String {
        let ident = self.sig.ident.unraw().to_string();
        match &self.owner {
            Some(owner) => format!("{}::{ident}", owner.prefix()),
            None => ident,
        }
    }

    /// The explicit `name = "..."`, if any.
    pub(crate) fn explicit_name(&self) -> Option<&LitStr> {
        self.instrument
            .args
            .name
            .as_ref()
            .map(|setting| &setting.value)
    }

    /// The return type, if it is `Result<..>` or `Option<..>` by its last path segment:
    /// errors are counted for those. An alias with another name is not recognized.
    pub(crate) fn fallible_return(&self) -> Option<&Type> {
        let ReturnType::Type(_, ty) = &self.sig.output else {
            return None;
        };
        let Type::Path(path) = &**ty else { return None };
        let last = path.path.segments.last()?;
        (last.ident == "Result" || last.ident == "Option").then_some(&**ty)
    }

    /// `setting` of the function's own arguments, else of its `impl` block's.
    fn own_or_inherited<T>(
        &self,
        setting: impl Fn(&MacroArgs) -> Option<&Setting<T>>,
    ) -> Option<&T> {
        setting(&self.instrument.args)
            .or_else(|| self.inherited.as_ref().and_then(&setting))
            .map(|setting| &setting.value)
    }

    /// The objectives declared on the function: its `impl` block's, then its own.
    pub(crate) fn objectives(&self) -> impl Iterator<Item = &Setting<LitStr>> {
        let inherited = self.inherited.iter().flat_map(|args| &args.objectives);
        inherited.chain(&self.instrument.args.objectives)
    }

    /// `objective_name = "..."`, if given.
    pub(crate) fn objective_name(&self) -> Option<&LitStr> {
        self.own_or_inherited(|args| args.objective_name.as_ref())
    }

    /// `window = "..."`, if given.
    pub(crate) fn window(&self) -> Option<&LitStr> {
        self.own_or_inherited(|args| args.window.as_ref())
    }

    /// The bucket bounds given with `buckets = [..]`, if any.
    pub(crate) fn buckets(&self) -> Option<&Buckets> {
        self.own_or_inherited(|args| args.buckets.as_ref())
    }

    /// Whether durations are served as a native histogram (`native`).
    pub(crate) fn native(&self) -> bool {
        self.own_or_inherited(|args| args.native.as_ref()).is_some()
    }

    pub(crate) fn krate(&self) -> Path {
        krate(self.own_or_inherited(|args| args.krate.as_ref()))
    }
}

/// An `impl` block with `#[counted]`/`#[timed]`: every method not marked
/// `#[expvar(skip)]` and not `const` is instrumented.
pub(crate) struct ImplBlock {
    /// The `impl` less the attributes the macro consumes; the methods at `methods`'
    /// indices are replaced by their instrumented form in the expansion.
    pub(crate) item: ItemImpl,
    /// The `impl` as written, less the attributes the macro consumes, methods included:
    /// the fallback.
    pub(crate) original: ItemImpl,
    /// The block's own attribute (and its siblings on the block).
    pub(crate) instrument: Instrument,
    /// The methods to instrument, by their index in `item.items`.
    pub(crate) methods: Vec<(usize, Function)>,
}

impl ImplBlock {
    pub(crate) fn from_syn(cx: &mut Ctxt, kind: Kind, args: MacroArgs, mut item: ItemImpl) -> Self {
        let mut instrument = Instrument::new(kind, args);
        instrument.absorb_siblings(cx, &mut item.attrs);
        let owner = Owner::from_impl(&item);
        // Each method has its own entry, so the block's `name` (an error) is not inherited.
        let inherited = MacroArgs {
            name: None,
            ..instrument.args.clone()
        };
        let mut original = item.clone();
        let mut methods = Vec::new();
        for (index, impl_item) in item.items.iter_mut().enumerate() {
            let ImplItem::Fn(method) = impl_item else {
                continue;
            };
            let skip = attr::method_skip(cx, &method.attrs);
            method.attrs.retain(|attr| !attr.path().is_ident(EXPVAR));
            if skip || method.sig.constness.is_some() {
                continue;
            }
            let mut method_instrument = Instrument {
                counted: instrument.counted,
                timed: instrument.timed,
                args: MacroArgs::default(),
                absorbed: instrument.absorbed.clone(),
            };
            method_instrument.absorb_siblings(cx, &mut method.attrs);
            let function = Function::from_impl_fn(
                method.clone(),
                owner.clone(),
                method_instrument,
                inherited.clone(),
            );
            methods.push((index, function));
        }
        // What the fallback emits: the methods as written, less our helper attributes.
        for impl_item in &mut original.items {
            if let ImplItem::Fn(method) = impl_item {
                method
                    .attrs
                    .retain(|attr| !attr.path().is_ident(EXPVAR) && Kind::of_attr(attr).is_none());
            }
        }
        original.attrs.retain(|attr| Kind::of_attr(attr).is_none());
        ImplBlock {
            item,
            original,
            instrument,
            methods,
        }
    }
}

/// What `#[counted]`/`#[timed]` is on.
// One value per macro invocation, moved once: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Instrumented {
    Function(Function),
    Impl(ImplBlock),
    /// Anything else: an error.
    Other(syn::Item),
}

/// A `static` with `#[publish]`.
pub(crate) struct PublishedStatic {
    pub(crate) item: syn::ItemStatic,
    pub(crate) args: MacroArgs,
}

impl PublishedStatic {
    /// The published name: `name = "..."`, else the static's name in lowercase.
    pub(crate) fn published_name(&self) -> String {
        match &self.args.name {
            Some(name) => name.value.value(),
            None => self.item.ident.unraw().to_string().to_lowercase(),
        }
    }

    pub(crate) fn krate(&self) -> Path {
        krate(self.args.krate.as_ref().map(|setting| &setting.value))
    }
}

/// `::expvar`, or the path given with `crate = ...`.
fn krate(given: Option<&Path>) -> Path {
    given
        .cloned()
        .unwrap_or_else(|| syn::parse_quote!(::expvar))
}

/// Whether `tokens` contain `impl` anywhere (an `impl Trait` type cannot be named in
/// an expression, so no type hint can be written for it).
pub(crate) fn mentions_impl(tokens: &impl ToTokens) -> bool {
    fn scan(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "impl",
            TokenTree::Group(group) => scan(group.stream()),
            TokenTree::Punct(_) | TokenTree::Literal(_) => false,
        })
    }
    scan(tokens.to_token_stream())
}

fn split_inner(attrs: Vec<Attribute>) -> (Vec<Attribute>, Vec<Attribute>) {
    attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, syn::AttrStyle::Inner(_)))
}

/// Tokens as compact text: `Vec<u8>`, `[T]`.
fn compact(tokens: &impl ToTokens) -> String {
    tokens.to_token_stream().to_string().replace(' ', "")
}

/// `ApiStats` -> `api_stats`, `HTTPStats` -> `http_stats`, `Stats2` -> `stats2`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let starts_word = match prev {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                Some(_) => false,
            };
            if starts_word {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
