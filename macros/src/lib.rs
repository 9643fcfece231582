//! Procedural macros for the [`expvar`](https://docs.rs/expvar) crate.
//!
//! Not meant to be used directly: depend on `expvar`, which re-exports these macros
//! next to the runtime types the generated code refers to.
