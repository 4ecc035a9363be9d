//! The seam between the file manager and activity pages (tessera-transfer, which knows nothing
//! of browser sessions) and the auth server that owns them: the same sessions, CSRF cookie and
//! sign-in page as the groups pages (`group_pages::AuthSessions`).

use crate::group_pages::AuthSessions;
use tessera_auth::http::web::{cookies, login};
use tessera_transfer::web::{Host, Person};

impl Host for AuthSessions {
    async fn person(&self, headers: &axum::http::HeaderMap) -> Result<Option<Person>, String> {
        Ok(self.signed_in(headers).await?.map(|p| Person {
            id: p.id,
            username: p.username,
            identities: p.identities,
        }))
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
