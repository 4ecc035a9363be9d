//! Client FQDNs: the DNS names a client has proven it controls (spec §1.1, §4). A client's first
//! FQDN names its resource server and goes into the scope strings it creates afterwards.
//!
//! The proof is Globus's rule: a TXT record *at the FQDN itself* whose value is the client id.

use uuid::Uuid;

/// Why a string is not an FQDN a client may register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FqdnError {
    #[error("an FQDN must not be empty")]
    Empty,
    #[error("an FQDN must be at most 253 characters long")]
    TooLong,
    #[error("an FQDN must be ASCII; write internationalised names in their xn-- form")]
    NotAscii,
    #[error("an FQDN needs at least two labels, such as api.example.org")]
    SingleLabel,
    #[error("every label of an FQDN must be 1 to 63 characters long")]
    BadLabelLength,
    #[error(
        "labels of an FQDN may contain only letters, digits and '-', and not begin or end with '-'"
    )]
    BadLabel,
    #[error("the last label of an FQDN must not be numeric (IP addresses are not FQDNs)")]
    NumericTld,
}

/// Checks `input` and returns its canonical form: lower case, without a trailing dot.
/// Wildcards, IP addresses, underscores and single labels are refused.
pub fn parse_fqdn(input: &str) -> Result<String, FqdnError> {
    let s = input.trim();
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return Err(FqdnError::Empty);
    }
    if !s.is_ascii() {
        return Err(FqdnError::NotAscii);
    }
    if s.len() > 253 {
        return Err(FqdnError::TooLong);
    }
    let s = s.to_ascii_lowercase();
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 {
        return Err(FqdnError::SingleLabel);
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err(FqdnError::BadLabelLength);
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(FqdnError::BadLabel);
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(FqdnError::NumericTld);
    }
    Ok(s)
}

/// Whether the TXT records found at the FQDN prove that `client` controls it: one of them
/// (its character-strings joined) is the client id, ignoring case and surrounding blanks.
/// Other records (SPF, other verifications) may sit beside it.
pub fn txt_proves(records: &[String], client: Uuid) -> bool {
    let id = client.hyphenated().to_string();
    records.iter().any(|r| r.trim().eq_ignore_ascii_case(&id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_syntax_table() {
        let long_label = format!("{}.org", "a".repeat(64));
        let max_label = format!("{}.org", "a".repeat(63));
        let too_long = format!("{}.org", vec!["a".repeat(60); 5].join("."));
        let cases: &[(&str, Result<&str, FqdnError>)] = &[
            ("api.example.org", Ok("api.example.org")),
            ("API.Example.ORG", Ok("api.example.org")),
            ("api.example.org.", Ok("api.example.org")),
            ("  api.example.org ", Ok("api.example.org")),
            ("a-b.c1.example", Ok("a-b.c1.example")),
            ("xn--bcher-kva.example", Ok("xn--bcher-kva.example")),
            ("1.example.org", Ok("1.example.org")),
            (&max_label, Ok(&max_label)),
            ("", Err(FqdnError::Empty)),
            (".", Err(FqdnError::Empty)),
            ("localhost", Err(FqdnError::SingleLabel)),
            ("bücher.example", Err(FqdnError::NotAscii)),
            ("a..example.org", Err(FqdnError::BadLabelLength)),
            (".example.org", Err(FqdnError::BadLabelLength)),
            ("example.org..", Err(FqdnError::BadLabelLength)),
            (&long_label, Err(FqdnError::BadLabelLength)),
            (&too_long, Err(FqdnError::TooLong)),
            ("*.example.org", Err(FqdnError::BadLabel)),
            ("_globus.example.org", Err(FqdnError::BadLabel)),
            ("-api.example.org", Err(FqdnError::BadLabel)),
            ("api-.example.org", Err(FqdnError::BadLabel)),
            ("api example.org", Err(FqdnError::BadLabel)),
            ("api.example.org:443", Err(FqdnError::BadLabel)),
            ("https://api.example.org", Err(FqdnError::BadLabel)),
            ("192.168.0.1", Err(FqdnError::NumericTld)),
        ];
        for (input, want) in cases {
            let got = parse_fqdn(input);
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "{input:?}");
        }
    }

    #[test]
    fn the_txt_record_must_be_the_client_id() {
        let id = Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        let hyphenated = id.hyphenated().to_string();
        let spf = "v=spf1 -all".to_owned();
        assert!(txt_proves(&[spf.clone(), hyphenated.clone()], id));
        assert!(txt_proves(&[hyphenated.to_uppercase()], id));
        assert!(txt_proves(&[format!(" {hyphenated} ")], id));
        assert!(!txt_proves(&[], id));
        assert!(!txt_proves(&[spf], id));
        assert!(!txt_proves(&[id.simple().to_string()], id));
        assert!(!txt_proves(&[format!("globus={hyphenated}")], id));
        assert!(!txt_proves(&[Uuid::from_u128(1).to_string()], id));
    }
}
