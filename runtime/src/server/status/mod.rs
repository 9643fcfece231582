//! `/status/health` and `/status/hardware/*`: answers for orchestrators and load balancers.

pub(crate) mod hardware;
pub(crate) mod health;
