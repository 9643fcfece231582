//! Procedural macros for the [`expvar`](https://docs.rs/expvar) crate.
//!
//! Not meant to be used directly: depend on `expvar`, which re-exports these macros
//! next to the runtime types the generated code refers to, and documents them.
//!
//! Layout (thiserror's `impl/`, serde_derive's `internals/`): this file holds the entry
//! points only; `attr` parses attributes, `ast` is the model, `check` validates,
//! `expand` generates code and `fallback` is what is emitted next to errors.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod fallback;
mod objective;
#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

use ast::Kind;

/// Implements `expvar::Var` for a struct and publishes `Type::global()`. Documented on
/// the `expvar::Expvar` re-export.
#[proc_macro_derive(Expvar, attributes(expvar))]
pub fn derive_expvar(input: TokenStream) -> TokenStream {
    expand::derive(input.into()).into()
}

/// Counts the calls of a function or of every method of an `impl` block. Documented on
/// the `expvar::counted` re-export.
#[proc_macro_attribute]
pub fn counted(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrument(Kind::Counted, args.into(), item.into()).into()
}

/// Counts and times the calls of a function or of every method of an `impl` block.
/// Documented on the `expvar::timed` re-export.
#[proc_macro_attribute]
pub fn timed(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrument(Kind::Timed, args.into(), item.into()).into()
}

/// Publishes a `static` variable at link time. Documented on the `expvar::publish`
/// re-export.
#[proc_macro_attribute]
pub fn publish(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::publish(args.into(), item.into()).into()
}
