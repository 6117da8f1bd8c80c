//! Certificates for HTTPS tests: a test CA, and certificates it signs for
//! 127.0.0.1 and `localhost`, current or expired, as PEM.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A certificate authority made for one test.
pub struct TestCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate signed by a [`TestCa`], with its private key.
pub struct Leaf {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The certificate, DER: what a client sees served.
    pub der: Vec<u8>,
}

impl TestCa {
    /// A new CA called `name`, with a fresh ECDSA P-256 key.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("an ECDSA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("a self-signed CA");
        TestCa { cert, key }
    }

    /// The CA's certificate, PEM: what a client trusts.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for 127.0.0.1 and `localhost`, valid from 1975 to 4096.
    pub fn leaf(&self) -> Leaf {
        self.sign(CertificateParams::new(names()).expect("leaf parameters"))
    }

    /// A certificate for the DNS names or addresses `names`.
    pub fn leaf_for(&self, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        self.sign(CertificateParams::new(names).expect("leaf parameters"))
    }

    /// The same, but past its notAfter (the end of 2020).
    pub fn expired_leaf(&self) -> Leaf {
        let mut params = CertificateParams::new(names()).expect("leaf parameters");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 12, 31);
        self.sign(params)
    }

    fn sign(&self, mut params: CertificateParams) -> Leaf {
        params
            .distinguished_name
            .push(DnType::CommonName, "minhbach test node");
        let key = KeyPair::generate().expect("an ECDSA key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("a signed certificate");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

impl Leaf {
    /// Writes the certificate to `cert` and the key to `key`.
    pub fn write(&self, cert: &Path, key: &Path) {
        std::fs::write(cert, &self.cert_pem).expect("write the certificate");
        std::fs::write(key, &self.key_pem).expect("write the key");
    }
}

fn names() -> Vec<String> {
    vec!["127.0.0.1".into(), "localhost".into()]
}
