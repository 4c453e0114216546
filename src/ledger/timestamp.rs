//! RFC 3161 trusted time for checkpoints. A time-stamping authority (TSA)
//! signs the SHA-256 of a checkpoint's signed text (the note text above the
//! blank line: origin, size, root hash) together with the time it saw it; the
//! reply, kept whole, lets anyone show that the tree of that size and root
//! existed by then.
//!
//! Pure functions only: [`request`] builds the query, [`accept`] checks a
//! reply answers it, [`verify`] checks a reply's signature against the TSA's
//! certificate. The ASN.1 is RustCrypto's (`x509-tsp`, `cms`, `x509-cert`);
//! the CMS signature check (RFC 5652 section 5.4) is written here.

use chrono::{DateTime, Utc};
use cmpv2::status::PkiStatus;
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Any, Decode, DecodePem, Encode};
use rand::RngCore;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectKeyIdentifier};
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// The media types of RFC 3161 section 3.4.
pub const QUERY_TYPE: &str = "application/timestamp-query";
pub const REPLY_TYPE: &str = "application/timestamp-reply";

const SHA_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA_384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_SHA_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA_384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_SHA_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA_384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P_384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// What a checkpoint's time stamp is over: SHA-256 of its signed text.
pub fn imprint(note: &str) -> [u8; 32] {
    let text = match note.find("\n\n") {
        Some(end) => &note[..=end],
        None => note,
    };
    Sha256::digest(text.as_bytes()).into()
}

/// A query for `digest`, asking for the TSA's certificate in the reply, with
/// a fresh nonce the reply must repeat.
pub struct Query {
    pub der: Vec<u8>,
    nonce: Int,
    digest: [u8; 32],
}

pub fn request(digest: [u8; 32]) -> Result<Query, String> {
    let mut nonce = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut nonce);
    // Positive, and minimal in DER: the top bit clear, the first byte non-zero.
    nonce[0] = (nonce[0] & 0x7f) | 0x40;
    let nonce = Int::new(&nonce).map_err(|e| e.to_string())?;
    let query = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: SHA_256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(digest.to_vec()).map_err(|e| e.to_string())?,
        },
        req_policy: None,
        nonce: Some(nonce.clone()),
        cert_req: true,
        extensions: None,
    };
    Ok(Query {
        der: query.to_der().map_err(|e| e.to_string())?,
        nonce,
        digest,
    })
}

/// A reply's content, read without checking its signature.
struct Token {
    signed: SignedData,
    /// The TSTInfo's DER, the content the signature's message digest is over.
    content: Vec<u8>,
    info: TstInfo,
}

fn read(reply: &[u8], digest: &[u8; 32]) -> Result<Token, String> {
    let reply = TimeStampResp::from_der(reply).map_err(|e| format!("not a TimeStampResp: {e}"))?;
    if !matches!(
        reply.status.status,
        PkiStatus::Accepted | PkiStatus::GrantedWithMods
    ) {
        return Err(format!(
            "the TSA did not grant a time stamp (status {:?})",
            reply.status.status
        ));
    }
    let token: ContentInfo = reply
        .time_stamp_token
        .ok_or("the reply holds no time-stamp token")?;
    if token.content_type != SIGNED_DATA {
        return Err("the time-stamp token is not CMS SignedData".into());
    }
    let signed = token
        .content
        .decode_as::<SignedData>()
        .map_err(|e| format!("the time-stamp token: {e}"))?;
    if signed.encap_content_info.econtent_type != TST_INFO {
        return Err("the signed content is not a TSTInfo".into());
    }
    let content = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("the token holds no TSTInfo")?
        .decode_as::<OctetString>()
        .map_err(|e| format!("the TSTInfo: {e}"))?
        .as_bytes()
        .to_vec();
    let info = TstInfo::from_der(&content).map_err(|e| format!("the TSTInfo: {e}"))?;
    let imprint = &info.message_imprint;
    if imprint.hash_algorithm.oid != SHA_256 || imprint.hashed_message.as_bytes() != digest {
        return Err("the token stamps another message than this checkpoint's".into());
    }
    Ok(Token {
        signed,
        content,
        info,
    })
}

fn gen_time(info: &TstInfo) -> Result<DateTime<Utc>, String> {
    let since = info.gen_time.to_unix_duration();
    DateTime::from_timestamp(
        i64::try_from(since.as_secs()).map_err(|_| "genTime is out of range")?,
        since.subsec_nanos(),
    )
    .ok_or_else(|| "genTime is out of range".into())
}

/// Checks that `reply` grants a token for the query: the same message and
/// nonce. Returns the time it states. The signature is left to [`verify`],
/// which needs the TSA's certificate.
pub fn accept(reply: &[u8], query: &Query) -> Result<DateTime<Utc>, String> {
    let token = read(reply, &query.digest)?;
    if token.info.nonce.as_ref() != Some(&query.nonce) {
        return Err("the reply does not repeat the query's nonce".into());
    }
    gen_time(&token.info)
}

/// Checks `reply` as a token over `digest` signed by the TSA whose certificate
/// (PEM or DER) is `certificate`: the signer is that certificate, which is for
/// time stamping and was valid at the stated time; the signed attributes name
/// the TSTInfo and its digest; the signature verifies under its key. Returns
/// the stated time.
pub fn verify(
    reply: &[u8],
    digest: &[u8; 32],
    certificate: &[u8],
) -> Result<DateTime<Utc>, String> {
    let cert = Certificate::from_pem(certificate)
        .or_else(|_| Certificate::from_der(certificate))
        .map_err(|e| format!("the TSA certificate: {e}"))?;
    let token = read(reply, digest)?;
    let at = gen_time(&token.info)?;
    let [signer] = token.signed.signer_infos.0.as_slice() else {
        return Err("the token has not exactly one signer".into());
    };
    signed_by(signer, &cert)?;
    for_time_stamping(&cert)?;
    let tbs = &cert.tbs_certificate;
    let (from, until) = (
        tbs.validity.not_before.to_unix_duration(),
        tbs.validity.not_after.to_unix_duration(),
    );
    let stated = token.info.gen_time.to_unix_duration();
    if stated < from || stated > until {
        return Err(format!(
            "the token's time {at} is outside the TSA certificate's validity"
        ));
    }
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or("the signer has no signed attributes")?;
    let attribute = |oid: ObjectIdentifier| -> Result<&Any, String> {
        match attrs.iter().find(|a| a.oid == oid) {
            Some(a) if a.values.len() == 1 => a.values.get(0).ok_or_else(String::new),
            _ => Err(format!("the signed attribute {oid} is missing or repeated")),
        }
    };
    let content_type = attribute(CONTENT_TYPE)?
        .decode_as::<ObjectIdentifier>()
        .map_err(|e| format!("content-type attribute: {e}"))?;
    if content_type != TST_INFO {
        return Err("the signed content-type is not TSTInfo".into());
    }
    let message_digest = attribute(MESSAGE_DIGEST)?
        .decode_as::<OctetString>()
        .map_err(|e| format!("message-digest attribute: {e}"))?;
    if message_digest.as_bytes() != hash(signer.digest_alg.oid, &token.content)? {
        return Err("the signed message digest is not the TSTInfo's".into());
    }
    let signed = attrs.to_der().map_err(|e| e.to_string())?;
    check_signature(signer, &cert, &signed)?;
    Ok(at)
}

fn hash(algorithm: ObjectIdentifier, data: &[u8]) -> Result<Vec<u8>, String> {
    Ok(match algorithm {
        SHA_256 => Sha256::digest(data).to_vec(),
        SHA_384 => Sha384::digest(data).to_vec(),
        SHA_512 => Sha512::digest(data).to_vec(),
        other => return Err(format!("unsupported digest algorithm {other}")),
    })
}

fn signed_by(signer: &SignerInfo, cert: &Certificate) -> Result<(), String> {
    let tbs = &cert.tbs_certificate;
    let matches = match &signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number,
        }) => *issuer == tbs.issuer && *serial_number == tbs.serial_number,
        SignerIdentifier::SubjectKeyIdentifier(id) => tbs
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == SUBJECT_KEY_ID)
            .any(|e| {
                SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).is_ok_and(|k| k == *id)
            }),
    };
    if matches {
        Ok(())
    } else {
        Err("the token was signed by another certificate than the TSA's given".into())
    }
}

fn for_time_stamping(cert: &Certificate) -> Result<(), String> {
    let stamping = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == EXT_KEY_USAGE)
        .any(|e| {
            ExtendedKeyUsage::from_der(e.extn_value.as_bytes())
                .is_ok_and(|usage| usage.0.contains(&TIME_STAMPING))
        });
    if stamping {
        Ok(())
    } else {
        Err(
            "the TSA certificate is not for time stamping (no timeStamping extended key usage)"
                .into(),
        )
    }
}

fn check_signature(signer: &SignerInfo, cert: &Certificate, signed: &[u8]) -> Result<(), String> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::pkcs8::DecodePublicKey;

    let algorithm = signer.signature_algorithm.oid;
    let digest_oid = match algorithm {
        RSA_SHA_256 | ECDSA_SHA_256 => SHA_256,
        RSA_SHA_384 | ECDSA_SHA_384 => SHA_384,
        RSA_SHA_512 | ECDSA_SHA_512 => SHA_512,
        _ => signer.digest_alg.oid,
    };
    let digest = hash(digest_oid, signed)?;
    let signature = signer.signature.as_bytes();
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let spki_der = spki.to_der().map_err(|e| e.to_string())?;
    let bad = |e: &dyn std::fmt::Display| format!("the token's signature does not verify: {e}");
    match (algorithm, spki.algorithm.oid) {
        (RSA | RSA_SHA_256 | RSA_SHA_384 | RSA_SHA_512, RSA) => {
            let key = rsa::RsaPublicKey::from_public_key_der(&spki_der).map_err(|e| bad(&e))?;
            let scheme = match digest_oid {
                SHA_256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                SHA_384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                _ => rsa::Pkcs1v15Sign::new::<Sha512>(),
            };
            key.verify(scheme, &digest, signature).map_err(|e| bad(&e))
        }
        (ECDSA_SHA_256 | ECDSA_SHA_384 | ECDSA_SHA_512, EC_PUBLIC_KEY) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            match curve {
                Some(P_256) => {
                    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der)
                        .map_err(|e| bad(&e))?;
                    let sig = p256::ecdsa::Signature::from_der(signature).map_err(|e| bad(&e))?;
                    key.verify_prehash(&digest, &sig).map_err(|e| bad(&e))
                }
                Some(P_384) => {
                    let key = p384::ecdsa::VerifyingKey::from_public_key_der(&spki_der)
                        .map_err(|e| bad(&e))?;
                    let sig = p384::ecdsa::Signature::from_der(signature).map_err(|e| bad(&e))?;
                    key.verify_prehash(&digest, &sig).map_err(|e| bad(&e))
                }
                _ => Err("the TSA's elliptic curve is not P-256 or P-384".into()),
            }
        }
        (signature, key) => Err(format!(
            "unsupported signature algorithm {signature} for a key of type {key}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_imprint_is_over_the_signed_text_only() {
        let text = "example.org/log\n3\nAAAA\n";
        let signed = format!("{text}\n— example.org/log abcd\n");
        let cosigned = format!("{signed}— witness efgh\n");
        let expected: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        assert_eq!(imprint(&signed), expected);
        assert_eq!(imprint(&cosigned), expected);
    }

    #[test]
    fn a_query_is_der_that_reads_back() {
        let query = request([7; 32]).expect("query");
        let read = TimeStampReq::from_der(&query.der).expect("reads back");
        assert!(read.cert_req);
        assert_eq!(read.message_imprint.hashed_message.as_bytes(), &[7; 32]);
        assert_eq!(read.nonce, Some(query.nonce));
    }

    #[test]
    fn garbage_is_refused_not_a_panic() {
        let query = request([0; 32]).expect("query");
        assert!(accept(b"", &query).is_err());
        assert!(accept(&[0x30, 0x03, 0x02, 0x01, 0x02], &query).is_err());
        assert!(verify(b"\x30\x00", &[0; 32], b"not a certificate").is_err());
    }
}
