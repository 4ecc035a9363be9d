//! The OAuth form parser (tessera-auth): it refuses exactly the forms with a repeated
//! parameter or too many, and otherwise answers every parameter as the `url` crate's
//! form decoder reads it (empty meaning absent); re-encoding the pairs gives the same form.

use tessera_auth::http::extract::OAuthForm;
use url::form_urlencoded;

/// `OAuthForm::MAX_PAIRS`.
const MAX_PAIRS: usize = 64;

fn agrees(form: &OAuthForm, pairs: &[(String, String)]) {
    for (k, v) in pairs {
        let want = (!v.is_empty()).then_some(v.as_str());
        assert_eq!(form.get(k), want, "parameter {k:?}");
    }
}

pub fn oauth_form(data: &[u8]) {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let repeated = pairs
        .iter()
        .enumerate()
        .any(|(i, (k, _))| pairs[..i].iter().any(|(seen, _)| seen == k));
    let refused = repeated || pairs.len() > MAX_PAIRS;
    match OAuthForm::parse(data) {
        Ok(form) => {
            assert!(!refused, "accepted a repeated parameter or too many");
            agrees(&form, &pairs);
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish();
            match OAuthForm::parse(encoded.as_bytes()) {
                Ok(again) => agrees(&again, &pairs),
                Err(e) => panic!("re-encoded form {encoded:?} refused: {e:?}"),
            }
        }
        Err(_) => assert!(refused, "refused a form without repeats: {pairs:?}"),
    }
}
