//! Rendering the groups pages: this crate's templates inside the site's layout through
//! tessera-pages, like the file manager.

pub use tessera_pages::Layout;
pub(crate) use tessera_pages::{see_other, with_cookie, Pages};

pub(crate) const TEMPLATES: [(&str, &str); 2] = [
    ("groups.html", include_str!("../../templates/groups.html")),
    ("group.html", include_str!("../../templates/group.html")),
];
