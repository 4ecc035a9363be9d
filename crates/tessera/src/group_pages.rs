//! The seam between the groups pages (tessera-groups, which knows nothing of browser
//! sessions) and the auth server that owns them: who is signed in, the CSRF cookie, and the
//! sign-in page, from tessera-auth's sessions and cookies.

use tessera_auth::http::web::{cookies, login, pages};
use tessera_auth::service::sessions;
use tessera_auth::AppState;
use tessera_groups::web::{Host, Layout, Person};

#[derive(Clone)]
pub(crate) struct AuthSessions(pub(crate) AppState);

impl Host for AuthSessions {
    async fn person(&self, headers: &axum::http::HeaderMap) -> Result<Option<Person>, String> {
        self.signed_in(headers).await
    }

    fn csrf(&self, headers: &axum::http::HeaderMap) -> (String, Option<axum::http::HeaderValue>) {
        cookies::csrf(&self.0, headers)
    }

    fn csrf_ok(&self, headers: &axum::http::HeaderMap, submitted: Option<&str>) -> bool {
        cookies::csrf_ok(headers, submitted)
    }

    fn sign_in_url(&self, next: &str) -> String {
        login::url_then(next)
    }
}

impl AuthSessions {
    /// Who is signed in on this browser (tessera-auth's session cookie): the identity they
    /// signed in with and its whole set, for any service's pages.
    pub(crate) async fn signed_in(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Option<Person>, String> {
        let cookie = cookies::get(headers, cookies::SESSION);
        let Some((_, identity)) = sessions::current(&self.0, cookie.as_deref())
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        let mut identities = vec![identity.id];
        let set = self
            .0
            .store
            .identity_set(identity.id)
            .await
            .map_err(|e| e.to_string())?;
        identities.extend(set.iter().map(|i| i.id).filter(|i| *i != identity.id));
        Ok(Some(Person {
            id: identity.id,
            username: identity.username,
            identities,
        }))
    }
}

/// The site's layout, for the pages other crates serve (groups, the file manager).
pub(crate) const LAYOUT: Layout = Layout {
    templates: &pages::LAYOUT,
    static_base: pages::STATIC_BASE,
};
