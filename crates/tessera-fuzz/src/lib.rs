//! What each fuzz target checks, beyond "no panic": one function per target in `fuzz/`, called
//! by the fuzz target with the engine's input and by `tests/corpus.rs` with every file of
//! `fuzz/corpus/<target>/`, so CI replays the corpora on the stable toolchain without a fuzzing
//! engine. A failed property panics (an `assert!`), which the engine reports as a crash.

#[cfg(feature = "server")]
mod auth_header;
#[cfg(feature = "server")]
mod jwt;
#[cfg(feature = "server")]
mod oauth_form;
mod redirect;
mod scope;
#[cfg(feature = "server")]
mod settings;
mod token;

#[cfg(feature = "server")]
pub use auth_header::auth_header;
#[cfg(feature = "server")]
pub use jwt::{jwt, valid_tokens as valid_jwts};
#[cfg(feature = "server")]
pub use oauth_form::oauth_form;
pub use redirect::redirect;
pub use scope::scope;
#[cfg(feature = "server")]
pub use settings::settings;
pub use token::token;

/// A fuzz target's check: takes the raw input, panics on a broken property.
pub type Check = fn(&[u8]);

/// Every target, by the name of its binary in `fuzz/` and of its corpus directory.
pub const TARGETS: &[(&str, Check)] = &[
    ("scope", scope),
    ("redirect", redirect),
    #[cfg(feature = "server")]
    ("oauth_form", oauth_form),
    #[cfg(feature = "server")]
    ("auth_header", auth_header),
    ("token", token),
    #[cfg(feature = "server")]
    ("jwt", jwt),
    #[cfg(feature = "server")]
    ("settings", settings),
];

/// The first byte as a mode selector, and the rest.
fn split_mode(data: &[u8]) -> Option<(u8, &[u8])> {
    let (&mode, rest) = data.split_first()?;
    Some((mode, rest))
}
