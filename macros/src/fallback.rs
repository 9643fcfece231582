//! What to emit next to the errors when the input is wrong: enough for the rest of the
//! crate to compile against (the type still implements `Var` and has `global()`, the
//! function still exists), so one mistake does not cascade into ten errors.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use crate::ast::{Function, ImplBlock, Stats};

/// `impl Var` and `global()` for a derive input with mistakes. Never run: the crate
/// does not compile while the errors stand.
pub(crate) fn derive(stats: &Stats<'_>) -> TokenStream {
    let krate = stats.krate();
    let private = quote!(#krate::__private);
    let ident = &stats.input.ident;
    let (impl_generics, ty_generics, where_clause) = stats.input.generics.split_for_impl();
    // `Var` needs `Send + Sync`; for a generic struct (an error already) say so in a
    // bound rather than add an error about it.
    let mut var_where = where_clause
        .cloned()
        .unwrap_or_else(|| syn::parse_quote!(where));
    var_where.predicates.push(syn::parse_quote!(
        Self: #private::Send + #private::Sync
    ));
    quote! {
        #[automatically_derived]
        impl #impl_generics #private::Var for #ident #ty_generics #var_where {
            fn write(&self, _: #private::Writer<'_>) {
                #private::unreachable!()
            }
        }

        #[automatically_derived]
        impl #impl_generics #ident #ty_generics #where_clause {
            #[allow(dead_code)]
            fn global() -> &'static Self {
                #private::unreachable!()
            }
        }
    }
}

/// The function as written, not instrumented.
pub(crate) fn function(function: &Function) -> TokenStream {
    let Function {
        attrs,
        inner_attrs,
        vis,
        defaultness,
        sig,
        block,
        ..
    } = function;
    let stmts = &block.stmts;
    quote! {
        #(#attrs)*
        #vis #defaultness #sig {
            #(#inner_attrs)*
            #(#stmts)*
        }
    }
}

/// The `impl` block as written, not instrumented.
pub(crate) fn impl_block(block: &ImplBlock) -> TokenStream {
    block.original.to_token_stream()
}
