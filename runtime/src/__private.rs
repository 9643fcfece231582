//! Not public API. Used by generated code.
//!
//! Everything the macros' expansions name lives here, so user crates need no direct
//! dependency on `inventory` or on the runtime's module layout.

pub use inventory;

pub use crate::function::{CallGuard, FunctionEntry, FunctionInfo, FunctionStats, Outcome};
pub use crate::registry::{Entry, Site};
pub use crate::var::Var;
