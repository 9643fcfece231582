//! Access control for the debug endpoints: HTTP Basic or a bearer token.

use base64::Engine as _;
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::HeaderMap;
use subtle::ConstantTimeEq;

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No credentials, or wrong ones: 401 with the challenge.
    Wrong,
    /// More than one `Authorization` header: 400.
    Several,
}

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
    /// Basic credentials; `Err` names what is wrong with them (an empty password, which
    /// anyone could guess, or a user name with `:`, which Basic cannot carry).
    pub(crate) fn basic(user: &str, password: &str) -> Result<Self, &'static str> {
        if password.is_empty() {
            return Err("the password is empty");
        }
        if user.contains(':') {
            return Err("the user name contains ':', which HTTP Basic cannot carry");
        }
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Ok(Auth::Basic {
            expected: encoded.into_bytes(),
            challenge: HeaderValue::from_static("Basic realm=\"expvar\", charset=\"UTF-8\""),
        })
    }

    /// A bearer token, without surrounding whitespace (which no header can carry: a
    /// token read from a file keeps no newline); `Err` when nothing is left, as anyone
    /// could present that.
    pub(crate) fn bearer(token: &str) -> Result<Self, &'static str> {
        let token = token.trim();
        if token.is_empty() {
            return Err("the token is empty or blank");
        }
        Ok(Auth::Bearer {
            expected: token.as_bytes().to_vec(),
            challenge: HeaderValue::from_static("Bearer realm=\"expvar\""),
        })
    }

    fn scheme(&self) -> &'static str {
        match self {
            Auth::Basic { .. } => "Basic",
            Auth::Bearer { .. } => "Bearer",
        }
    }

    /// Whether `headers` carry the expected credentials, in exactly one `Authorization`
    /// header: a request with several is refused whatever they hold, or one request
    /// could try many guesses. The scheme is matched without regard to case (RFC 7235);
    /// the credentials are compared in constant time so the response time does not
    /// reveal how much of a guess was right.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let mut presented = headers.get_all(AUTHORIZATION).iter();
        let (Some(presented), None) = (presented.next(), presented.next()) else {
            return Err(if headers.contains_key(AUTHORIZATION) {
                Refusal::Several
            } else {
                Refusal::Wrong
            });
        };
        let (Auth::Basic { expected, .. } | Auth::Bearer { expected, .. }) = self;
        let presented = presented.as_bytes();
        let Some(space) = presented.iter().position(|&byte| byte == b' ') else {
            return Err(Refusal::Wrong);
        };
        let (scheme, rest) = presented.split_at(space);
        let credentials = rest.trim_ascii_start();
        if scheme.eq_ignore_ascii_case(self.scheme().as_bytes())
            && bool::from(credentials.ct_eq(expected))
        {
            Ok(())
        } else {
            Err(Refusal::Wrong)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(auth: &Auth, header: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(header).unwrap());
        auth.check(&headers).is_ok()
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        let bearer = Auth::bearer("t0ken").unwrap();
        for header in [
            "Bearer t0ken",
            "bearer t0ken",
            "BEARER t0ken",
            "Bearer   t0ken",
        ] {
            assert!(allows(&bearer, header), "{header}");
        }
        for header in ["Bearer T0KEN", "Bearert0ken", "Basic t0ken", "Bearer", ""] {
            assert!(!allows(&bearer, header), "{header}");
        }
        // "ops:pw" in base64.
        let basic = Auth::basic("ops", "pw").unwrap();
        assert!(allows(&basic, "basic b3BzOnB3"));
        assert!(!allows(&basic, "Bearer b3BzOnB3"));
    }

    #[test]
    fn several_authorization_headers_are_refused_whatever_they_hold() {
        let bearer = Auth::bearer("t0ken").unwrap();
        let mut headers = HeaderMap::new();
        for guess in ["Bearer nope", "Bearer t0ken", "Bearer other"] {
            headers.append(AUTHORIZATION, HeaderValue::from_static(guess));
        }
        assert_eq!(bearer.check(&headers), Err(Refusal::Several));
        assert_eq!(bearer.check(&HeaderMap::new()), Err(Refusal::Wrong));
    }

    #[test]
    fn unusable_credentials_are_refused() {
        assert!(Auth::bearer("").is_err());
        assert!(Auth::bearer(" \t ").is_err());
        // Surrounding whitespace is not part of the token.
        assert!(allows(&Auth::bearer(" t0ken\n").unwrap(), "Bearer t0ken"));
        assert!(Auth::basic("ops", "").is_err());
        assert!(Auth::basic("o:ps", "pw").is_err());
        assert!(Auth::basic("", "pw").is_ok());
    }
}
