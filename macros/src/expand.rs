//! Code generation. Each entry point runs parse -> model -> check -> expand and, when
//! the input has mistakes, emits every error together with the [`fallback`] output.
//!
//! Generated code names the runtime only through `<crate>::__private` (`::expvar` unless
//! `crate = ...` says otherwise), calls runtime functions instead of inlining logic,
//! keeps the user's body in its own block and the signature's own tokens.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{DeriveInput, ImplItem, Item};

use crate::ast::{
    mentions_impl, Function, ImplBlock, Instrument, Instrumented, Kind, PublishedStatic, Stats,
};
use crate::attr::{self, MacroArgs};
use crate::check;
use crate::ctxt::Ctxt;
use crate::fallback;
use crate::objective::{parse_objective, parse_window, DEFAULT_WINDOW_SECONDS};

/// `#[derive(Expvar)]`.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut cx = Ctxt::new();
    let stats = Stats::from_syn(&mut cx, &input);
    check::stats(&mut cx, &stats);
    match cx.check() {
        Ok(()) => derive_stats(&stats),
        Err(error) => {
            let fallback = fallback::derive(&stats);
            let error = error.into_compile_error();
            quote!(#fallback #error)
        }
    }
}

fn derive_stats(stats: &Stats<'_>) -> TokenStream {
    let krate = stats.krate();
    let private = quote!(#krate::__private);
    let input = stats.input;
    let ident = &input.ident;
    let vis = &input.vis;
    let out = Ident::new("__expvar_out", Span::mixed_site());
    let fields = Ident::new("__expvar_fields", Span::mixed_site());

    let writes = stats
        .fields
        .iter()
        .filter(|field| field.attrs.skip.is_none())
        .map(|field| {
            let name = field.name();
            let writer = match &field.attrs.doc {
                Some(help) => quote!(#fields.field_with_help(#name, #help)),
                None => quote!(#fields.field(#name)),
            };
            // Spanned at the field's type (or its `label`, `buckets`), where a type error
            // belongs.
            if let Some(native) = &field.attrs.native {
                let span = native.key.span();
                let member = respanned(&field.member, span);
                let bounds = match &field.attrs.buckets {
                    Some(buckets) => {
                        let bounds = buckets.value.to_slice();
                        quote!(#private::Some(#bounds))
                    }
                    None => quote!(#private::None),
                };
                return quote_spanned! {span=>
                    #private::Native::write_native(&self.#member, #bounds, #writer);
                };
            }
            if let Some(buckets) = &field.attrs.buckets {
                let span = buckets.key.span();
                let member = respanned(&field.member, span);
                let bounds = buckets.value.to_slice();
                return quote_spanned! {span=>
                    #private::Bucketed::write_with_buckets(&self.#member, #bounds, #writer);
                };
            }
            if let Some(labels) = &field.attrs.labels {
                let span = labels.key.span();
                let member = respanned(&field.member, span);
                let labels = labels.value.names();
                return quote_spanned! {span=>
                    #private::Labelled::write_labelled_levels(&self.#member, &[#(#labels),*], #writer);
                };
            }
            match &field.attrs.label {
                Some(label) => {
                    let label = &label.value;
                    let member = respanned(&field.member, label.span());
                    quote_spanned! {label.span()=>
                        #private::Labelled::write_labelled(&self.#member, #label, #writer);
                    }
                }
                None => {
                    let ty = &field.original.ty;
                    let member = respanned(&field.member, ty.span());
                    quote_spanned! {ty.span()=>
                        #private::write_field(&self.#member, #writer);
                    }
                }
            }
        });

    let name = stats.published_name();
    let global_doc = format!(
        " The process-wide [`{ident}`], published as `{name}`; created with `Default` on first use."
    );
    let create = quote_spanned!(ident.span()=> <#ident as #private::Global>::create);
    quote! {
        #[automatically_derived]
        impl #private::Var for #ident {
            fn write(&self, #out: #private::Writer<'_>) {
                #out.object(|#fields| {
                    #(#writes)*
                });
            }
        }

        #[automatically_derived]
        impl #ident {
            #[doc = #global_doc]
            #[must_use]
            #vis fn global() -> &'static Self {
                static __EXPVAR_GLOBAL: #private::Lazy<#ident> = #private::Lazy::new(#create);
                &__EXPVAR_GLOBAL
            }
        }

        const _: () = {
            fn __expvar_global() -> &'static dyn #private::Var {
                <#ident>::global()
            }
            #private::inventory::submit! {
                #private::Entry::new(#name, __expvar_global, #private::file!(), #private::line!())
            }
        };
    }
}

/// `member` with `span`, so an error about `&self.member` points at one token.
fn respanned(member: &syn::Member, span: Span) -> syn::Member {
    let mut member = member.clone();
    match &mut member {
        syn::Member::Named(ident) => ident.set_span(span),
        syn::Member::Unnamed(index) => index.span = span,
    }
    member
}

/// `#[counted]` and `#[timed]`, on a function or an `impl` block.
pub(crate) fn instrument(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let args = MacroArgs::parse(&mut cx, kind.name(), args);
    let item: Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(error) => {
            cx.syn_error(error);
            let error = cx.check().expect_err("an error was just recorded");
            let error = error.into_compile_error();
            return quote!(#item #error);
        }
    };
    check::instrumented_item(&mut cx, kind, &item);
    // The model first, checked whole; the expansion only of a checked model.
    let model = match item {
        Item::Fn(mut item) => {
            let mut instrument = Instrument::new(kind, args);
            instrument.absorb_siblings(&mut cx, &mut item.attrs);
            let function = Function::from_item_fn(item, instrument);
            check::function(&mut cx, kind, &function);
            Instrumented::Function(function)
        }
        Item::Impl(item) => {
            let block = ImplBlock::from_syn(&mut cx, kind, args, item);
            check::impl_block(&mut cx, kind, &block);
            Instrumented::Impl(block)
        }
        other => Instrumented::Other(other),
    };
    match (cx.check(), model) {
        (Ok(()), Instrumented::Function(function)) => function_tokens(&function),
        (Ok(()), Instrumented::Impl(block)) => impl_block(&block),
        (result, model) => {
            let fallback = match model {
                Instrumented::Function(function) => fallback::function(&function),
                Instrumented::Impl(block) => fallback::impl_block(&block),
                Instrumented::Other(other) => other.into_token_stream(),
            };
            let error = result
                .expect_err(
                    "`check::instrumented_item` reports anything but a function or an `impl`",
                )
                .into_compile_error();
            quote!(#fallback #error)
        }
    }
}

/// The `impl` block with its methods instrumented.
fn impl_block(block: &ImplBlock) -> TokenStream {
    let mut item = block.item.clone();
    for (index, function) in &block.methods {
        item.items[*index] = ImplItem::Verbatim(function_tokens(function));
    }
    item.into_token_stream()
}

/// An instrumented function: the signature's tokens unchanged, a new body around the
/// user's block.
fn function_tokens(function: &Function) -> TokenStream {
    let Function {
        attrs,
        inner_attrs,
        vis,
        defaultness,
        sig,
        ..
    } = function;
    let body = function_body(function);
    quote! {
        #(#attrs)*
        #vis #defaultness #sig {
            #(#inner_attrs)*
            #body
        }
    }
}

fn function_body(function: &Function) -> TokenStream {
    let krate = function.krate();
    let private = quote!(#krate::__private);
    let block = own_block(&function.block);
    let guard = Ident::new("__expvar_guard", Span::mixed_site());
    let display_name = function.display_name();
    let key = match function.explicit_name() {
        Some(name) => name.to_token_stream(),
        None => {
            let suffix = format!("::{display_name}");
            quote!(#private::concat!(#private::module_path!(), #suffix))
        }
    };
    let timed = function.instrument.timed;
    let fallible = function.fallible_return();
    let is_fallible = fallible.is_some();

    // Go's `expvar.NewInt(name)`: `#[counted(name = "...")]` also publishes the count.
    let published_count = match function.explicit_name() {
        Some(name) if function.instrument.counted => quote! {
            fn __expvar_calls() -> &'static dyn #private::Var {
                __EXPVAR_FUNCTION.calls_counter()
            }
            #private::inventory::submit! {
                #private::Entry::new(#name, __expvar_calls, #private::file!(), #private::line!())
            }
        },
        _ => TokenStream::new(),
    };

    // A call of a function that is not `async` ends on the thread it started on, so
    // its guard may keep the thread's slot table (one thread-local read per call); an
    // `async` function's guard lives in its future, which may move between threads.
    let enter = match (timed, function.sig.asyncness.is_some()) {
        (true, true) => quote!(#private::enter_timed(&__EXPVAR_FUNCTION)),
        (false, true) => quote!(#private::enter(&__EXPVAR_FUNCTION)),
        (true, false) => quote!(#private::enter_timed_local(&__EXPVAR_FUNCTION)),
        (false, false) => quote!(#private::enter_local(&__EXPVAR_FUNCTION)),
    };
    let call = match fallible {
        None => quote! {
            let #guard = #enter;
            #block
        },
        Some(ret) => {
            // Returns inside the user's block (`return`, `?`) must come back through
            // `observe`, so the block runs in a closure or an `async` block. The
            // never-taken early return tells inference that it returns `ret`.
            let never = Ident::new("__expvar_never", Span::mixed_site());
            let hint = (!mentions_impl(ret)).then(|| {
                quote! {
                    if let #private::Some(#never) = #private::no_value::<#ret>() {
                        return #never;
                    }
                }
            });
            if function.sig.asyncness.is_some() {
                quote! {
                    let mut #guard = #enter;
                    #guard.observe(async move { #hint #block }.await)
                }
            } else {
                quote! {
                    let mut #guard = #enter;
                    #guard.observe(#private::call_once(move || { #hint #block }))
                }
            }
        }
    };

    // Without buckets the static copies one constant, which the compiler evaluates once
    // per crate instead of once per function.
    let stats = match (function.buckets(), function.native()) {
        (Some(buckets), false) => {
            let buckets = buckets.to_slice();
            quote!(#private::FunctionStats::with_buckets(#buckets))
        }
        (Some(buckets), true) => {
            let buckets = buckets.to_slice();
            quote!(#private::FunctionStats::native_with_buckets(#buckets))
        }
        (None, false) => quote!(#private::NEW_FUNCTION_STATS),
        (None, true) => quote!(#private::NEW_NATIVE_FUNCTION_STATS),
    };
    let objective = objective_entry(function, &key);
    let absorbed = &function.instrument.absorbed;
    // Two items per function, the statistics and their registration, and the
    // description inside the registration: every item is work for the compiler.
    quote! {
        #(
            #[allow(unused_imports)]
            use #absorbed as _;
        )*
        static __EXPVAR_FUNCTION: #private::FunctionStats = #stats;
        #private::inventory::submit! {
            #private::FunctionEntry::new(&__EXPVAR_FUNCTION, #private::FunctionInfo {
                key: #key,
                module: #private::module_path!(),
                function: #display_name,
                timed: #timed,
                fallible: #is_fallible,
                site: #private::Site {
                    file: #private::file!(),
                    line: #private::line!(),
                },
            })
        }
        #published_count
        #objective
        #call
    }
}

/// The function's objective declaration, registered next to its statistics: nothing
/// is added to what a call does.
fn objective_entry(function: &Function, key: &TokenStream) -> TokenStream {
    let mut success = None;
    let mut latency = None;
    for objective in function.objectives() {
        let promise = parse_objective(&objective.value.value())
            .expect("objectives are checked before expansion");
        let target = Literal::f64_suffixed(promise.target);
        match promise.threshold {
            Some(threshold) => {
                let threshold = Literal::f64_suffixed(threshold);
                latency = Some(quote!((#target, #threshold)));
            }
            None => success = Some(quote!(#target)),
        }
    }
    if success.is_none() && latency.is_none() {
        return TokenStream::new();
    }
    let krate = function.krate();
    let private = quote!(#krate::__private);
    let option = |value: Option<TokenStream>| match value {
        Some(value) => quote!(#private::Some(#value)),
        None => quote!(#private::None),
    };
    let (success, latency) = (option(success), option(latency));
    let name = match function.objective_name() {
        Some(name) => name.to_token_stream(),
        None => key.clone(),
    };
    let window = function.window().map_or(DEFAULT_WINDOW_SECONDS, |window| {
        parse_window(&window.value()).expect("windows are checked before expansion")
    });
    let window = Literal::u64_suffixed(window);
    quote! {
        #private::inventory::submit! {
            #private::ObjectiveEntry::new(&__EXPVAR_FUNCTION, #private::ObjectiveDeclaration {
                name: #name,
                success: #success,
                latency: #latency,
                window_seconds: #window,
                site: #private::Site {
                    file: #private::file!(),
                    line: #private::line!(),
                },
            })
        }
    }
}

/// The user's block, still at its place in the source but with braces that belong to
/// this expansion: rustc's `unused_braces` lint would otherwise flag a one-line body
/// (`{ x + 1 }`) as an unnecessary block around the generated tail expression, and
/// `cargo fix` would strip it into code that no longer compiles.
fn own_block(block: &syn::Block) -> syn::Block {
    let mut block = block.clone();
    let span = block
        .brace_token
        .span
        .join()
        .resolved_at(Span::mixed_site());
    block.brace_token = syn::token::Brace(span);
    block
}

/// `#[publish]` on a `static`.
pub(crate) fn publish(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let args = MacroArgs::parse(&mut cx, "publish", args);
    let item: Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(error) => {
            cx.syn_error(error);
            let error = cx.check().expect_err("an error was just recorded");
            let error = error.into_compile_error();
            return quote!(#item #error);
        }
    };
    check::args(&mut cx, &args);
    check::published_item(&mut cx, &item);
    match (cx.check(), item) {
        (Ok(()), Item::Static(item)) => publish_static(&PublishedStatic { item, args }),
        (result, item) => {
            let error = result
                .expect_err("`check::published_item` reports anything but a `static`")
                .into_compile_error();
            quote!(#item #error)
        }
    }
}

fn publish_static(published: &PublishedStatic) -> TokenStream {
    let krate = published.krate();
    let private = quote!(#krate::__private);
    let item = &published.item;
    let ident = &item.ident;
    let name = published.published_name();
    // Spanned at the static's type, where an error about a type that is not a variable
    // belongs.
    let var = match attr::doc_comment(&item.attrs) {
        // The doc comment becomes the help text (the Prometheus `HELP` line).
        Some(help) => {
            let documented = quote_spanned!(item.ty.span()=>
                #private::Documented::new(&#ident, #help)
            );
            quote! {
                static __EXPVAR_DOCUMENTED: #private::Documented = #documented;
                &__EXPVAR_DOCUMENTED
            }
        }
        None => quote_spanned!(item.ty.span()=> #private::as_var(&#ident)),
    };
    quote! {
        #item

        const _: () = {
            fn __expvar_var() -> &'static dyn #private::Var {
                #var
            }
            #private::inventory::submit! {
                #private::Entry::new(#name, __expvar_var, #private::file!(), #private::line!())
            }
        };
    }
}
