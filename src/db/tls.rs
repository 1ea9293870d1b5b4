//! Connections to Postgres, with TLS (rustls) as `sslmode` in the database URL asks, in
//! libpq's meanings: `disable` (and no `sslmode`: lede's embedded cluster is a local socket)
//! plain; `prefer` TLS when the server offers it; `require` TLS, its certificate checked
//! against `sslrootcert` when one is given (else not checked, as libpq does); `verify-ca`
//! the certificate's chain checked (against `sslrootcert`, or the system's roots);
//! `verify-full` the chain and the host name.
use std::sync::Arc;

use anyhow::Context;
use diesel::ConnectionResult;
use diesel_async::AsyncPgConnection;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};
use rustls::{DigitallySignedStruct, Error as TlsError, SignatureScheme};

/// How a URL asks to be connected to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A database URL read for connecting: what tokio-postgres is given, and the TLS to use.
pub struct Target {
    /// The URL without `sslrootcert` and with `sslmode` as tokio-postgres knows it.
    url: String,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl Target {
    /// Reads `url` (`postgres://…?sslmode=…&sslrootcert=…` or `key=value` pairs). Only
    /// `sslmode` and `sslrootcert` are taken out; the rest goes to tokio-postgres as written.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let uri = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let (head, parts, separator): (&str, Vec<&str>, &str) = if uri {
            match url.split_once('?') {
                Some((head, query)) => (head, query.split('&').collect(), "&"),
                None => (url, Vec::new(), "&"),
            }
        } else {
            ("", url.split_whitespace().collect(), " ")
        };
        let mut mode = Mode::Disable;
        let mut root = None;
        let mut kept = Vec::new();
        for part in parts {
            let (key, value) = if uri {
                url::form_urlencoded::parse(part.as_bytes())
                    .next()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .unwrap_or_default()
            } else {
                part.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .unwrap_or_default()
            };
            match key.as_str() {
                "sslmode" => {
                    mode = match value.as_str() {
                        "disable" | "allow" => Mode::Disable,
                        "prefer" => Mode::Prefer,
                        "require" => Mode::Require,
                        "verify-ca" => Mode::VerifyCa,
                        "verify-full" => Mode::VerifyFull,
                        other => anyhow::bail!(
                            "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                        ),
                    }
                }
                "sslrootcert" => root = Some(value),
                "sslcert" | "sslkey" => anyhow::bail!(
                    "client certificates (`{key}`) are not supported; use a password or trust"
                ),
                _ => kept.push(part),
            }
        }
        let tokio_mode = match mode {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            _ => "require",
        };
        let sslmode = format!("sslmode={tokio_mode}");
        kept.push(&sslmode);
        let url = if uri {
            format!("{head}?{}", kept.join(separator))
        } else {
            kept.join(separator)
        };
        let tls = match mode {
            Mode::Disable => None,
            mode => Some(tokio_postgres_rustls::MakeRustlsConnect::new(
                client_config(mode, root.as_deref())?,
            )),
        };
        Ok(Target { url, tls })
    }

    /// A connection to the target.
    pub async fn connect(&self) -> ConnectionResult<AsyncPgConnection> {
        // "db error" alone says nothing: the server's own words are in the source.
        let failed = |e: tokio_postgres::Error| {
            let detail = std::error::Error::source(&e).map(ToString::to_string);
            diesel::ConnectionError::BadConnection(match detail {
                Some(detail) => format!("{e}: {detail}"),
                None => e.to_string(),
            })
        };
        match &self.tls {
            None => {
                let (client, connection) =
                    tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                        .await
                        .map_err(failed)?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
            Some(tls) => {
                let (client, connection) = tokio_postgres::connect(&self.url, tls.clone())
                    .await
                    .map_err(failed)?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
        }
    }

    /// A plain tokio-postgres client (for LISTEN) and the stream of what its connection
    /// receives (which must be polled for the client to work).
    pub async fn client(
        &self,
        config: tokio_postgres::Config,
    ) -> Result<(tokio_postgres::Client, Messages), tokio_postgres::Error> {
        match &self.tls {
            None => {
                let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
                let messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                Ok((client, Box::pin(messages)))
            }
            Some(tls) => {
                let (client, mut connection) = config.connect(tls.clone()).await?;
                let messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                Ok((client, Box::pin(messages)))
            }
        }
    }

    /// The URL as tokio-postgres reads it.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// What a LISTEN connection receives.
pub type Messages = std::pin::Pin<
    Box<
        dyn futures_util::Stream<Item = Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>>
            + Send,
    >,
>;

fn client_config(mode: Mode, root: Option<&str>) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match root {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .with_context(|| format!("cannot read sslrootcert {path}"))?
            {
                roots
                    .add(cert.with_context(|| format!("a certificate in {path} is unreadable"))?)?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let verifying = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    let config = match (mode, root) {
        // libpq: `require` with a root certificate verifies like `verify-ca`.
        (Mode::VerifyCa, _) | (Mode::Require, Some(_)) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(verifying.build()?)))
            .with_no_client_auth(),
        (Mode::VerifyFull, _) => builder
            .with_webpki_verifier(verifying.build()?)
            .with_no_client_auth(),
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(TlsError::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(TlsError::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a root certificate: encrypted, the server not checked
/// (libpq's meaning; `verify-full` is what checks).
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_and_handed_on_as_tokio_postgres_knows_it() {
        let target =
            Target::parse("postgres://u@db:5432/lede?sslmode=verify-full&application_name=x")
                .unwrap();
        assert!(target.tls.is_some());
        assert_eq!(
            target.url(),
            "postgres://u@db:5432/lede?application_name=x&sslmode=require"
        );
        // The rest is handed on as written (`%20` stays, hosts may be several).
        let kept = Target::parse("postgres://u@h1,h2/lede?options=-c%20work_mem%3D8MB").unwrap();
        assert_eq!(
            kept.url(),
            "postgres://u@h1,h2/lede?options=-c%20work_mem%3D8MB&sslmode=disable"
        );
        assert!(Target::parse("host=/tmp user=u sslcert=/c.pem").is_err());
        let plain = Target::parse("host=/tmp/pg user=postgres dbname=lede").unwrap();
        assert!(plain.tls.is_none());
        assert_eq!(
            plain.url(),
            "host=/tmp/pg user=postgres dbname=lede sslmode=disable"
        );
        assert!(Target::parse("postgres://u@db/lede?sslmode=sometimes").is_err());
        assert!(
            Target::parse("postgres://u@db/lede?sslmode=require&sslrootcert=/nonexistent.pem")
                .is_err()
        );
    }
}
