//! Error collection: every mistake in an item is reported in one compile, not one per
//! fix-and-rebuild round (serde_derive `internals/ctxt.rs`).

use std::fmt::Display;
use std::thread;

use quote::ToTokens;

/// The errors found so far in one macro input.
///
/// It must end in [`Ctxt::check`]: dropping it with its errors unread panics, so an
/// early return that would lose the user's errors is caught by the first test that
/// takes that path instead of compiling a wrong program silently.
pub(crate) struct Ctxt {
    /// `None` once [`Ctxt::check`] took them.
    errors: Option<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt {
            errors: Some(Vec::new()),
        }
    }

    /// Records `message`, spanned at `tokens`.
    pub(crate) fn error_spanned_by(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.syn_error(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error from syn.
    pub(crate) fn syn_error(&mut self, error: syn::Error) {
        self.errors
            .as_mut()
            .expect("Ctxt used after check()")
            .push(error);
    }

    /// All errors recorded, combined into one, or `Ok` if there were none.
    pub(crate) fn check(mut self) -> syn::Result<()> {
        let errors = self.errors.take().expect("Ctxt checked twice");
        let mut errors = errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        // While unwinding from another panic, a second one would abort and hide the first.
        if self.errors.is_some() && !thread::panicking() {
            panic!("expvar-macros: a Ctxt was dropped without check(): its errors would be lost");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ctxt;

    #[test]
    fn check_returns_every_error_in_order() {
        let mut cx = Ctxt::new();
        cx.error_spanned_by(quote::quote!(a), "first");
        cx.error_spanned_by(quote::quote!(b), "second");
        let messages: Vec<String> = cx
            .check()
            .expect_err("two errors")
            .into_iter()
            .map(|error| error.to_string())
            .collect();
        assert_eq!(messages, ["first", "second"]);
        assert!(Ctxt::new().check().is_ok());
    }

    #[test]
    #[should_panic(expected = "dropped without check()")]
    fn dropping_unchecked_panics() {
        let mut cx = Ctxt::new();
        cx.error_spanned_by(quote::quote!(a), "lost");
        drop(cx);
    }

    #[test]
    #[should_panic(expected = "dropped without check()")]
    fn dropping_unchecked_panics_without_errors_too() {
        // No errors yet is no excuse: the caller did not look, so the next change that
        // records one would lose it.
        drop(Ctxt::new());
    }
}
