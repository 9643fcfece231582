//! The OTLP resource: who pushes. OpenTelemetry's resource conventions
//! (<https://opentelemetry.io/docs/specs/semconv/resource/>), the SDK's environment
//! variables, and the builder's attributes.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use super::wire::{int_attribute, string_attribute};
use crate::encode::protobuf::Protobuf;
use crate::push::error::PushError;
use crate::push::settings::{env, key_values};
use crate::stats::process::ProcessStats;

/// `Resource.attributes`.
const ATTRIBUTES: u32 = 1;

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Int(i64),
}

/// The resource's attributes, each key once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resource {
    attributes: Vec<(String, Value)>,
}

impl Resource {
    /// The defaults, then `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME`, then
    /// `service_name` and `attributes`: each over the ones before.
    pub(crate) fn new(
        service_name: Option<&str>,
        attributes: &[(String, String)],
    ) -> Result<Resource, PushError> {
        let mut resource = Resource {
            attributes: Vec::new(),
        };
        resource.set("service.name", Value::Text(program_name()));
        resource.set("service.instance.id", Value::Text(instance_id().to_owned()));
        resource.set("process.pid", Value::Int(i64::from(std::process::id())));
        resource.set("telemetry.sdk.name", Value::Text("expvar".into()));
        resource.set("telemetry.sdk.language", Value::Text("rust".into()));
        resource.set(
            "telemetry.sdk.version",
            Value::Text(env!("CARGO_PKG_VERSION").into()),
        );
        if let Some(value) = env("OTEL_RESOURCE_ATTRIBUTES") {
            for (key, value) in key_values("OTEL_RESOURCE_ATTRIBUTES", &value)? {
                resource.set(&key, Value::Text(value));
            }
        }
        if let Some(name) = env("OTEL_SERVICE_NAME") {
            resource.set("service.name", Value::Text(name.trim().to_owned()));
        }
        if let Some(name) = service_name {
            resource.set("service.name", Value::Text(name.to_owned()));
        }
        for (key, value) in attributes {
            resource.set(key, Value::Text(value.clone()));
        }
        Ok(resource)
    }

    fn set(&mut self, key: &str, value: Value) {
        match self
            .attributes
            .iter_mut()
            .find(|(existing, _)| existing == key)
        {
            Some((_, existing)) => *existing = value,
            None => self.attributes.push((key.to_owned(), value)),
        }
    }

    /// The encoded `Resource` message.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Protobuf::new();
        for (key, value) in &self.attributes {
            match value {
                Value::Text(text) => string_attribute(&mut out, ATTRIBUTES, key, text),
                Value::Int(number) => int_attribute(&mut out, ATTRIBUTES, key, *number),
            }
        }
        out.into_inner()
    }

    /// The value of `key`, if it is a string.
    #[cfg(test)]
    fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(existing, _)| existing == key)
            .and_then(|(_, value)| match value {
                Value::Text(text) => Some(text.as_str()),
                Value::Int(_) => None,
            })
    }
}

/// When the counts of cumulative data points start: the process's start, which is
/// when counters start at zero (else now, read once).
pub(crate) fn start_nanos() -> u64 {
    static START: OnceLock<u64> = OnceLock::new();
    *START.get_or_init(|| {
        let started = ProcessStats::read().start_time_seconds;
        if started > 0 {
            started.saturating_mul(1_000_000_000)
        } else {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos() as u64)
        }
    })
}

/// The program's file name, as the default `service.name`.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|path| path.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown_service".to_owned())
}

/// A random UUID (version 4) for this process: `service.instance.id`.
fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        // std's hasher keys are random per process: 128 random bits without a
        // dependency for them.
        let random = |salt: u64| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(salt);
            hasher.finish()
        };
        let mut bits = (u128::from(random(1)) << 64) | u128::from(random(2));
        bits = (bits & !(0xf << 76)) | (0x4 << 76); // version 4
        bits = (bits & !(0x3 << 62)) | (0x2 << 62); // variant 10
        let hex = format!("{bits:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_the_builder() {
        let resource = Resource::new(
            Some("checkout"),
            &[("deployment.environment".into(), "prod".into())],
        )
        .unwrap();
        assert_eq!(resource.get("service.name"), Some("checkout"));
        assert_eq!(resource.get("deployment.environment"), Some("prod"));
        assert_eq!(resource.get("telemetry.sdk.name"), Some("expvar"));
        assert_eq!(resource.get("telemetry.sdk.language"), Some("rust"));
        let id = resource.get("service.instance.id").unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]), "{id}");
        assert!(resource.attributes.contains(&(
            "process.pid".into(),
            Value::Int(i64::from(std::process::id()))
        )));
        let encoded = resource.encode();
        assert!(encoded.windows(8).any(|w| w == b"checkout"));
        assert!(start_nanos() > 1_600_000_000 * 1_000_000_000);
    }
}
