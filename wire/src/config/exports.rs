//! `[exports]`: how the node publishes its exports, the OCDS `ocid` prefix
//! and the public address that the OCDS package's extension URL is built on.
//! Checked on its own, so that the file stays apart from the rest of the
//! format.

use serde::{Deserialize, Serialize};

/// Default of `[exports] ocid_prefix`: `mb0000` marks Minh Bạch until a
/// publisher registers its own prefix with the Open Contracting Partnership.
pub const OCID_PREFIX_DEFAULT: &str = "ocds-mb0000";

/// `[exports]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportsSection {
    /// The prefix of every OCDS `ocid`: `ocds-` and the 6 lowercase letters
    /// or digits that the Open Contracting Partnership registers for a
    /// publisher. The chain id and the contract id follow it.
    pub ocid_prefix: String,
    /// The public base URL of this node's listeners (`https://host[/path]`,
    /// no query), where readers fetch what the OCDS package links to: its
    /// `extensions` entry is `<base_url>/v1/export/ocds/extension.json`.
    /// Absent: built from the request's `Host` header and the listener's
    /// scheme, which is wrong behind a reverse proxy that changes either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl Default for ExportsSection {
    fn default() -> Self {
        ExportsSection {
            ocid_prefix: OCID_PREFIX_DEFAULT.into(),
            base_url: None,
        }
    }
}

impl ExportsSection {
    /// The field at fault and why, if a value is malformed.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !is_ocid_prefix(&self.ocid_prefix) {
            return Err((
                "exports.ocid_prefix",
                format!(
                    "{:?} is not an OCDS ocid prefix: `ocds-` followed by 6 lowercase letters \
                     or digits, as registered with the Open Contracting Partnership (default \
                     {OCID_PREFIX_DEFAULT:?})",
                    self.ocid_prefix
                ),
            ));
        }
        if let Some(url) = &self.base_url {
            if !is_base_url(url) {
                return Err((
                    "exports.base_url",
                    format!(
                        "{url:?} is not an absolute http or https URL without query, fragment \
                         or spaces, such as \"https://explorer.example.vn\""
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The base URL without a trailing `/`, if set.
    pub fn base(&self) -> Option<&str> {
        self.base_url.as_deref().map(|u| u.trim_end_matches('/'))
    }
}

/// `ocds-` followed by exactly 6 ASCII lowercase letters or digits.
pub fn is_ocid_prefix(s: &str) -> bool {
    s.strip_prefix("ocds-").is_some_and(|rest| {
        rest.len() == 6
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

fn is_base_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or("");
    !host.is_empty()
        && !host.contains('@')
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'"' | b'<' | b'>' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocid_prefixes_are_ocds_and_six_lowercase_alphanumerics() {
        for good in [OCID_PREFIX_DEFAULT, "ocds-abc123", "ocds-000000"] {
            assert!(is_ocid_prefix(good), "{good}");
        }
        for bad in [
            "",
            "ocds-",
            "ocds-ABC123",
            "ocds-abc12",
            "ocds-abc1234",
            "ocds-abc-12",
            "OCDS-abc123",
            "ocds_abc123",
            "ocds-abc12ạ",
        ] {
            assert!(!is_ocid_prefix(bad), "{bad}");
        }
    }

    #[test]
    fn base_urls_are_absolute_http_urls() {
        let with = |u: &str| ExportsSection {
            base_url: Some(u.into()),
            ..ExportsSection::default()
        };
        for good in [
            "https://explorer.example.vn",
            "http://127.0.0.1:8081",
            "https://example.vn/minhbach/",
        ] {
            assert!(with(good).check().is_ok(), "{good}");
        }
        assert_eq!(
            with("https://example.vn/minhbach/").base(),
            Some("https://example.vn/minhbach")
        );
        for bad in [
            "",
            "example.vn",
            "ftp://example.vn",
            "https://",
            "https:///x",
            "https://example.vn/?a=1",
            "https://example.vn/#x",
            "https://exa mple.vn",
            "https://user@example.vn",
        ] {
            let (field, _) = with(bad).check().unwrap_err();
            assert_eq!(field, "exports.base_url", "{bad}");
        }
    }
}
