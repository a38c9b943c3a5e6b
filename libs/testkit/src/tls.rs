//! A certificate authority made in the test: its certificate and the server and client
//! certificates it signs, as PEM text and as files in a directory of the test's own (the
//! configuration names TLS material by file).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tempfile::TempDir;

/// A CA of one test. Two `TestCa`s never trust each other's certificates.
#[derive(Debug)]
pub struct TestCa {
    dir: TempDir,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, signed by a [`TestCa`].
#[derive(Debug, Clone)]
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM.
    pub key_pem: String,
    /// The file holding `cert_pem`.
    pub cert_file: PathBuf,
    /// The file holding `key_pem`.
    pub key_file: PathBuf,
}

impl TestCa {
    /// A fresh CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names to parse");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("a CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("a self-signed CA");
        let ca = TestCa {
            dir: tempfile::tempdir().expect("a directory for the test's certificates"),
            issuer,
        };
        std::fs::write(ca.cert_file(), ca.cert_pem()).expect("the CA file is written");
        ca
    }

    /// The CA's certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// The file holding [`TestCa::cert_pem`].
    pub fn cert_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The directory the files are in (removed with the CA).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A server certificate for `localhost` and `127.0.0.1`.
    pub fn server_cert(&self, name: &str) -> TestCert {
        self.sign(
            name,
            vec!["localhost".into(), "127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate naming `name`.
    pub fn client_cert(&self, name: &str) -> TestCert {
        self.sign(name, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn sign(&self, name: &str, sans: Vec<String>, usage: ExtendedKeyUsagePurpose) -> TestCert {
        let mut params = CertificateParams::new(sans).expect("valid subject names");
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("a signed certificate");
        let (cert_file, key_file) = (
            self.dir.path().join(format!("{name}.pem")),
            self.dir.path().join(format!("{name}.key")),
        );
        let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
        std::fs::write(&cert_file, &cert_pem).expect("the certificate file is written");
        std::fs::write(&key_file, &key_pem).expect("the key file is written");
        TestCert {
            cert_pem,
            key_pem,
            cert_file,
            key_file,
        }
    }
}
