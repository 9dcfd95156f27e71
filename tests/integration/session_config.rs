//! The builder: setters never fail, `build` refuses contradicting or
//! malformed configuration and reports every problem, whatever the order
//! of the calls.

use std::collections::HashMap;
use std::time::Duration;

use http::{Request, Response};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tower::{service_fn, Layer, ServiceExt};
use tower_cookie_sessions::session::{ConfigProblem, SessionLayerBuilder, MAX_COOKIE_LIFETIME};
use tower_cookie_sessions::{
    Expiry, Key, MemoryStore, SameSite, Session, SessionError, SessionLayer,
};

/// The longest `Path` or `Domain` browsers accept, as documented.
const MAX_ATTRIBUTE_LEN: usize = 1024;

fn builder() -> SessionLayerBuilder<u64> {
    SessionLayer::builder(Key::generate())
}

/// The problems `build` reports for `builder`, none when it builds.
fn problems(builder: SessionLayerBuilder<u64>) -> Vec<ConfigProblem> {
    builder
        .build()
        .map_or_else(|error| error.problems().to_vec(), |_| Vec::new())
}

#[test]
fn host_prefix_forces_secure_root_path_and_no_domain() {
    let host = || builder().cookie_name("__Host-id");
    assert_eq!(
        problems(host().secure(false)),
        [ConfigProblem::PrefixRequiresSecure("__Host-")]
    );
    assert_eq!(
        problems(host().domain("example.com")),
        [ConfigProblem::HostPrefixForbidsDomain]
    );
    assert_eq!(
        problems(host().path("/app")),
        [ConfigProblem::HostPrefixRequiresRootPath]
    );
    // Every problem at once, and browsers' case-insensitive prefix.
    assert_eq!(
        problems(
            builder()
                .secure(false)
                .domain("example.com")
                .path("/app")
                .cookie_name("__host-id")
        ),
        [
            ConfigProblem::PrefixRequiresSecure("__Host-"),
            ConfigProblem::HostPrefixForbidsDomain,
            ConfigProblem::HostPrefixRequiresRootPath,
        ]
    );
}

#[test]
fn secure_prefix_and_same_site_none_require_secure() {
    assert_eq!(
        problems(builder().secure(false).cookie_name("__Secure-id")),
        [ConfigProblem::PrefixRequiresSecure("__Secure-")]
    );
    assert_eq!(
        problems(builder().same_site(SameSite::None).secure(false)),
        [ConfigProblem::SameSiteNoneRequiresSecure]
    );
    assert!(problems(builder().same_site(SameSite::None)).is_empty());
}

#[test]
fn characters_cookies_do_not_allow_are_refused() {
    for name in ["", "a b", "a;b", "a=b", "caf\u{e9}", "a\tb", "a,b"] {
        assert_eq!(
            problems(builder().cookie_name(name)),
            [ConfigProblem::InvalidCookieName(name.to_owned())],
            "{name:?}"
        );
    }
    for path in ["app", "/a;b", "/a\r\nb"] {
        assert_eq!(
            problems(builder().path(path)),
            [ConfigProblem::InvalidPath(path.to_owned())]
        );
    }
    for domain in ["a;b.com", ""] {
        assert_eq!(
            problems(builder().domain(domain)),
            [ConfigProblem::InvalidDomain(domain.to_owned())]
        );
    }
}

#[test]
fn refresh_fraction_must_be_in_range() {
    for fraction in [0.0, -0.5, 1.5, f64::NAN] {
        assert_eq!(
            problems(builder().refresh_after(fraction)),
            [ConfigProblem::InvalidRefreshFraction]
        );
    }
    assert!(problems(builder().refresh_after(1.0)).is_empty());
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
fn types_bincode_cannot_carry_are_refused_with_the_other_problems() {
    let error = SessionLayer::<Skips>::builder(Key::generate())
        .cookie_name("a b")
        .build()
        .map(|_| ())
        .unwrap_err();
    assert_eq!(error.problems().len(), 2, "{error}");
    assert!(
        matches!(error.problems()[1], ConfigProblem::UnsupportedType { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("Skips"), "{error}");
    assert!(SessionLayer::<Flattened>::new(Key::generate()).is_err());
    let store = SessionLayer::<Flattened>::store_builder(Key::generate(), MemoryStore::new());
    assert!(store.build().is_err(), "store layers check the type too");
}

#[test]
fn valid_settings_are_accepted() {
    let layer = builder()
        .cookie_name("__Host-session")
        .same_site(SameSite::Strict)
        .http_only(true)
        .schema_version(3)
        .build()
        .expect("valid");
    let debug = format!("{layer:?}");
    assert!(debug.contains("__Host-session"), "{debug}");
}

#[test]
fn lifetimes_browsers_would_clip_are_refused() {
    let over = MAX_COOKIE_LIFETIME + Duration::from_secs(1);
    assert_eq!(MAX_COOKIE_LIFETIME, Duration::from_secs(400 * 24 * 60 * 60));
    for expiry in [Expiry::MaxAge, Expiry::Inactivity] {
        assert!(problems(builder().expiry(expiry(MAX_COOKIE_LIFETIME))).is_empty());
        assert_eq!(
            problems(builder().expiry(expiry(over))),
            [ConfigProblem::LifetimeTooLong {
                setting: "expiry",
                duration: over
            }]
        );
    }
    assert!(problems(builder().absolute_timeout(MAX_COOKIE_LIFETIME)).is_empty());
    let error = builder()
        .absolute_timeout(over)
        .build()
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        error.problems(),
        [ConfigProblem::LifetimeTooLong {
            setting: "absolute_timeout",
            duration: over
        }]
    );
    assert!(error.to_string().contains("400 days"), "{error}");
}

#[test]
fn paths_and_domains_browsers_would_ignore_are_refused() {
    let path = |len: usize| format!("/{}", "p".repeat(len - 1));
    assert!(problems(builder().path(path(MAX_ATTRIBUTE_LEN))).is_empty());
    assert_eq!(
        problems(builder().path(path(MAX_ATTRIBUTE_LEN + 1))),
        [ConfigProblem::AttributeTooLong {
            attribute: "Path",
            len: MAX_ATTRIBUTE_LEN + 1
        }]
    );
    let domain = |len: usize| format!("{}.com", "d".repeat(len - 4));
    assert!(problems(builder().domain(domain(MAX_ATTRIBUTE_LEN))).is_empty());
    assert_eq!(
        problems(builder().domain(domain(MAX_ATTRIBUTE_LEN + 1))),
        [ConfigProblem::AttributeTooLong {
            attribute: "Domain",
            len: MAX_ATTRIBUTE_LEN + 1
        }]
    );
}

#[test]
fn a_store_layer_checks_the_same_cookie_rules() {
    let error = SessionLayer::<u64>::store_builder(Key::generate(), MemoryStore::new())
        .cookie_name("__Host-id")
        .secure(false)
        .build()
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        error.problems(),
        [ConfigProblem::PrefixRequiresSecure("__Host-")]
    );
}

/// One builder call, as data.
#[derive(Debug, Clone)]
enum Setting {
    Name(&'static str),
    Secure(bool),
    Path(&'static str),
    Domain(&'static str),
    SameSite(u8),
    Expiry(u8),
    Refresh(f64),
    CookieSize(usize),
}

impl Setting {
    fn apply(&self, builder: SessionLayerBuilder<u64>) -> SessionLayerBuilder<u64> {
        let day = Duration::from_secs(24 * 60 * 60);
        match *self {
            Setting::Name(name) => builder.cookie_name(name),
            Setting::Secure(secure) => builder.secure(secure),
            Setting::Path(path) => builder.path(path),
            Setting::Domain(domain) => builder.domain(domain),
            Setting::SameSite(n) => {
                builder.same_site([SameSite::Lax, SameSite::Strict, SameSite::None][usize::from(n)])
            }
            Setting::Expiry(n) => builder.expiry(match n {
                0 => Expiry::OnBrowserClose,
                1 => Expiry::MaxAge(7 * day),
                2 => Expiry::Inactivity(401 * day),
                _ => Expiry::MaxAge(500 * day),
            }),
            Setting::Refresh(fraction) => builder.refresh_after(fraction),
            Setting::CookieSize(size) => builder.max_cookie_size(size),
        }
    }

    /// Which setting it is: a later call of the same kind replaces an
    /// earlier one, so only the relative order of different kinds varies.
    fn kind(&self) -> u8 {
        match self {
            Setting::Name(_) => 0,
            Setting::Secure(_) => 1,
            Setting::Path(_) => 2,
            Setting::Domain(_) => 3,
            Setting::SameSite(_) => 4,
            Setting::Expiry(_) => 5,
            Setting::Refresh(_) => 6,
            Setting::CookieSize(_) => 7,
        }
    }
}

fn setting() -> impl Strategy<Value = Setting> {
    prop_oneof![
        prop::sample::select(vec!["id", "__Host-id", "__Secure-id", "a b", "sid"])
            .prop_map(Setting::Name),
        any::<bool>().prop_map(Setting::Secure),
        prop::sample::select(vec!["/", "/app", "app"]).prop_map(Setting::Path),
        prop::sample::select(vec!["example.com", "a;b"]).prop_map(Setting::Domain),
        (0u8..3).prop_map(Setting::SameSite),
        (0u8..4).prop_map(Setting::Expiry),
        prop::sample::select(vec![0.5, 0.0, 1.0, 2.0]).prop_map(Setting::Refresh),
        prop::sample::select(vec![4096, 8192, 1024, 300_000]).prop_map(Setting::CookieSize),
    ]
}

/// The name and attributes of the cookie a layer sends (everything but
/// the value).
fn cookie_attributes(layer: SessionLayer<u64>) -> String {
    let service = layer.layer(service_fn(|request: Request<String>| async move {
        Session::<u64>::load(&request).await?.set(1);
        Ok::<_, SessionError>(Response::new(String::new()))
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let response = runtime
        .block_on(service.oneshot(Request::new(String::new())))
        .expect("ok");
    let line = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let (name, rest) = line.split_once('=').expect("a pair");
    let attributes = rest.split_once(';').map(|(_, a)| a).unwrap_or_default();
    format!("{name}{attributes}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The same settings in any order build the same layer, or report the
    /// same problems: only `build` judges, and it sees them all at once.
    #[test]
    fn the_order_of_the_calls_never_matters(
        settings in prop::collection::vec(setting(), 0..10),
        order in any::<prop::sample::Index>(),
    ) {
        // One call of each kind (the last), so that every order of them
        // means the same configuration.
        let mut unique: Vec<Setting> = Vec::new();
        for setting in settings.iter().rev() {
            if !unique.iter().any(|kept| kept.kind() == setting.kind()) {
                unique.push(setting.clone());
            }
        }
        let mut shuffled = unique.clone();
        let len = shuffled.len();
        let rotate = order.index(len.max(1));
        shuffled.rotate_left(rotate.min(len));
        shuffled.reverse();
        let key = Key::generate();
        let build = |settings: &[Setting]| {
            let builder = settings
                .iter()
                .fold(SessionLayer::<u64>::builder(key.clone()), |builder, setting| {
                    setting.apply(builder)
                });
            builder
                .build()
                .map(|layer| format!("{layer:?} {}", cookie_attributes(layer.clone())))
        };
        let one = build(&unique);
        let other = build(&shuffled);
        match (&one, &other) {
            (Ok(a), Ok(b)) => {
                // The layers differ only in the keys' and ids' output,
                // which neither shows.
                prop_assert_eq!(a, b);
            }
            (Err(a), Err(b)) => prop_assert_eq!(a.problems(), b.problems()),
            _ => prop_assert!(false, "{:?} against {:?}", one.is_ok(), other.is_ok()),
        }
    }
}
