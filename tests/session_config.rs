//! The builder refuses contradicting or malformed configuration.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tower_cookie_sessions::{ConfigError, Key, SameSite, SessionLayer};

fn layer() -> SessionLayer<u64> {
    SessionLayer::new(Key::generate()).expect("layer")
}

#[test]
fn host_prefix_forces_secure_root_path_and_no_domain() {
    let host = || layer().cookie_name("__Host-id").expect("name");
    assert_eq!(
        host().secure(false).unwrap_err(),
        ConfigError::PrefixRequiresSecure("__Host-")
    );
    assert_eq!(
        host().domain("example.com").unwrap_err(),
        ConfigError::HostPrefixForbidsDomain
    );
    assert_eq!(
        host().path("/app").unwrap_err(),
        ConfigError::HostPrefixRequiresRootPath
    );
    // The other order too.
    let insecure = layer().secure(false).expect("plain http");
    assert_eq!(
        insecure.cookie_name("__Host-id").unwrap_err(),
        ConfigError::PrefixRequiresSecure("__Host-")
    );
    let with_domain = layer().domain("example.com").expect("domain");
    assert_eq!(
        with_domain.cookie_name("__host-id").unwrap_err(),
        ConfigError::HostPrefixForbidsDomain
    );
}

#[test]
fn secure_prefix_requires_secure() {
    let insecure = layer().secure(false).expect("plain http");
    assert_eq!(
        insecure.cookie_name("__Secure-id").unwrap_err(),
        ConfigError::PrefixRequiresSecure("__Secure-")
    );
}

#[test]
fn same_site_none_requires_secure() {
    let insecure = layer().secure(false).expect("plain http");
    assert_eq!(
        insecure.same_site(SameSite::None).unwrap_err(),
        ConfigError::SameSiteNoneRequiresSecure
    );
    let none = layer()
        .same_site(SameSite::None)
        .expect("secure by default");
    assert_eq!(
        none.secure(false).unwrap_err(),
        ConfigError::SameSiteNoneRequiresSecure
    );
}

#[test]
fn characters_cookies_do_not_allow_are_refused() {
    for name in ["", "a b", "a;b", "a=b", "caf\u{e9}", "a\tb", "a,b"] {
        assert!(
            matches!(
                layer().cookie_name(name),
                Err(ConfigError::InvalidCookieName(_))
            ),
            "{name:?}"
        );
    }
    assert!(matches!(
        layer().path("app"),
        Err(ConfigError::InvalidPath(_))
    ));
    assert!(matches!(
        layer().path("/a;b"),
        Err(ConfigError::InvalidPath(_))
    ));
    assert!(matches!(
        layer().path("/a\r\nb"),
        Err(ConfigError::InvalidPath(_))
    ));
    assert!(matches!(
        layer().domain("a;b.com"),
        Err(ConfigError::InvalidDomain(_))
    ));
    assert!(matches!(
        layer().domain(""),
        Err(ConfigError::InvalidDomain(_))
    ));
}

#[test]
fn refresh_fraction_must_be_in_range() {
    for fraction in [0.0, -0.5, 1.5, f64::NAN] {
        assert_eq!(
            layer().refresh_after(fraction).unwrap_err(),
            ConfigError::InvalidRefreshFraction
        );
    }
    assert!(layer().refresh_after(1.0).is_ok());
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct Skips {
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<u64>,
    visits: u64,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct Flattened {
    #[serde(flatten)]
    extra: HashMap<String, String>,
}

#[test]
fn types_bincode_cannot_carry_are_refused() {
    let error = SessionLayer::<Skips>::new(Key::generate()).unwrap_err();
    assert!(
        matches!(error, ConfigError::UnsupportedType { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("Skips"), "{error}");
    assert!(SessionLayer::<Flattened>::new(Key::generate()).is_err());
}

#[test]
fn valid_settings_are_accepted() {
    let layer = layer()
        .cookie_name("__Host-session")
        .and_then(|l| l.same_site(SameSite::Strict))
        .map(|l| l.http_only(true).schema_version(3));
    assert!(layer.is_ok());
    let debug = format!("{:?}", layer.expect("layer"));
    assert!(debug.contains("__Host-session"), "{debug}");
}

#[test]
fn lifetimes_browsers_would_clip_are_refused() {
    use std::time::Duration;
    use tower_cookie_sessions::session::{Expiry, MAX_COOKIE_LIFETIME};
    let over = MAX_COOKIE_LIFETIME + Duration::from_secs(1);
    assert_eq!(MAX_COOKIE_LIFETIME, Duration::from_secs(400 * 24 * 60 * 60));
    for expiry in [Expiry::MaxAge, Expiry::Inactivity] {
        assert!(layer().expiry(expiry(MAX_COOKIE_LIFETIME)).is_ok());
        assert_eq!(
            layer().expiry(expiry(over)).unwrap_err(),
            ConfigError::LifetimeTooLong {
                setting: "expiry",
                duration: over
            }
        );
    }
    assert!(layer().absolute_timeout(MAX_COOKIE_LIFETIME).is_ok());
    let error = layer().absolute_timeout(over).unwrap_err();
    assert_eq!(
        error,
        ConfigError::LifetimeTooLong {
            setting: "absolute_timeout",
            duration: over
        }
    );
    assert!(error.to_string().contains("400 days"), "{error}");
}

#[test]
fn paths_and_domains_browsers_would_ignore_are_refused() {
    use tower_cookie_sessions::session::MAX_ATTRIBUTE_LEN;
    let path = |len: usize| format!("/{}", "p".repeat(len - 1));
    assert!(layer().path(path(MAX_ATTRIBUTE_LEN)).is_ok());
    assert_eq!(
        layer().path(path(MAX_ATTRIBUTE_LEN + 1)).unwrap_err(),
        ConfigError::AttributeTooLong {
            attribute: "Path",
            len: MAX_ATTRIBUTE_LEN + 1
        }
    );
    let domain = |len: usize| format!("{}.com", "d".repeat(len - 4));
    assert!(layer().domain(domain(MAX_ATTRIBUTE_LEN)).is_ok());
    assert_eq!(
        layer().domain(domain(MAX_ATTRIBUTE_LEN + 1)).unwrap_err(),
        ConfigError::AttributeTooLong {
            attribute: "Domain",
            len: MAX_ATTRIBUTE_LEN + 1
        }
    );
}
