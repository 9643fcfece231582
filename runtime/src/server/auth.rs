//! Access control for the debug endpoints: HTTP Basic or a bearer token.

use base64::Engine as _;
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::HeaderMap;
use subtle::ConstantTimeEq;

/// The credentials a request must present.
#[derive(Clone)]
pub(crate) enum Auth {
    /// `Authorization: Basic <base64(user:password)>`.
    Basic {
        expected: Vec<u8>,
        challenge: HeaderValue,
    },
    /// `Authorization: Bearer <token>`.
    Bearer {
        expected: Vec<u8>,
        challenge: HeaderValue,
    },
}

impl Auth {
    pub(crate) fn basic(user: &str, password: &str) -> Self {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Auth::Basic {
            expected: format!("Basic {encoded}").into_bytes(),
            challenge: HeaderValue::from_static("Basic realm=\"expvar\", charset=\"UTF-8\""),
        }
    }

    pub(crate) fn bearer(token: &str) -> Self {
        Auth::Bearer {
            expected: format!("Bearer {token}").into_bytes(),
            challenge: HeaderValue::from_static("Bearer realm=\"expvar\""),
        }
    }

    /// Whether `headers` carry the expected credentials, compared in constant time so
    /// the response time does not reveal how much of a guess was right.
    pub(crate) fn allows(&self, headers: &HeaderMap) -> bool {
        let (Auth::Basic { expected, .. } | Auth::Bearer { expected, .. }) = self;
        headers
            .get_all(AUTHORIZATION)
            .iter()
            .any(|presented| bool::from(presented.as_bytes().ct_eq(expected)))
    }

    /// The `WWW-Authenticate` value sent with a 401.
    pub(crate) fn challenge(&self) -> HeaderValue {
        let (Auth::Basic { challenge, .. } | Auth::Bearer { challenge, .. }) = self;
        challenge.clone()
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print credentials.
        f.write_str(match self {
            Auth::Basic { .. } => "Auth::Basic(..)",
            Auth::Bearer { .. } => "Auth::Bearer(..)",
        })
    }
}
