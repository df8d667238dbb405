//! Building responses and indications with the stun-types writer.
//!
//! Every message built here ends with (MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 when
//! the request was authenticated, then) FINGERPRINT, with SOFTWARE before them when
//! configured. Writing into a `Vec` cannot run out of room, so write errors are not
//! expected; should one happen the message is dropped (`None`), never half-sent.

use crate::auth::Credentials;
use crate::refusal::RefusalReason;
use stun_types::attribute::AttributeType;
use stun_types::attribute::{AttributeWrite, ErrorCode, Software, UnknownAttributes};
use stun_types::message::{
    Message, MessageClass, MessageType, MessageWrite, MessageWriteExt, MessageWriteVec, Method,
    StunWriteError, TransactionId,
};

/// A message under construction.
pub(crate) struct Reply {
    writer: MessageWriteVec,
    failed: bool,
    /// The ERROR-CODE of an error response.
    pub(crate) code: Option<u16>,
    /// Why the request was refused (error responses), reported as a
    /// [`crate::Refusal`] when the reply is sent.
    pub(crate) reason: Option<RefusalReason>,
    method: Method,
}

impl Reply {
    /// A success response to `method`/`tid`.
    pub(crate) fn success(method: Method, tid: TransactionId) -> Reply {
        Reply::new(MessageClass::Success, method, tid)
    }

    /// An error response with ERROR-CODE `code` and its standard reason phrase.
    pub(crate) fn error(method: Method, tid: TransactionId, code: u16) -> Reply {
        Reply::error_with(method, tid, code, ErrorCode::default_reason_for_code(code))
    }

    /// An error response with an empty reason phrase: for replies to unauthenticated
    /// requests, whose size matters more than their prose (reflection amplification).
    pub(crate) fn small_error(method: Method, tid: TransactionId, code: u16) -> Reply {
        Reply::error_with(method, tid, code, "")
    }

    fn error_with(method: Method, tid: TransactionId, code: u16, text: &str) -> Reply {
        let mut reply = Reply::new(MessageClass::Error, method, tid);
        reply.code = Some(code);
        reply.reason = Some(RefusalReason::from_code(code));
        match ErrorCode::new(code, text) {
            Ok(error) => {
                reply.add(&error);
            }
            Err(_) => reply.failed = true,
        }
        reply
    }

    /// 420 with the UNKNOWN-ATTRIBUTES that caused it.
    pub(crate) fn unknown_attributes(
        method: Method,
        tid: TransactionId,
        unknown: &[AttributeType],
    ) -> Reply {
        let mut reply = Reply::error(method, tid, ErrorCode::UNKNOWN_ATTRIBUTE);
        reply.add(&UnknownAttributes::new(unknown));
        reply
    }

    /// An indication (no response expected), e.g. a Data indication.
    pub(crate) fn indication(method: Method, tid: TransactionId) -> Reply {
        Reply::new(MessageClass::Indication, method, tid)
    }

    fn new(class: MessageClass, method: Method, tid: TransactionId) -> Reply {
        let mtype = MessageType::from_class_method(class, method);
        Reply {
            writer: Message::builder(mtype, tid, MessageWriteVec::new()),
            failed: false,
            code: None,
            reason: None,
            method,
        }
    }

    /// The method number this message is for.
    pub(crate) fn method(&self) -> u16 {
        self.method.value()
    }

    /// Append an attribute (not integrity or fingerprint: `finish` adds those).
    pub(crate) fn add(&mut self, attr: &dyn AttributeWrite) -> &mut Reply {
        if self.writer.add_attribute(attr).is_err() {
            self.failed = true;
        }
        self
    }

    /// Append SOFTWARE, integrity (with the request's key and algorithm) and FINGERPRINT.
    pub(crate) fn finish(
        mut self,
        software: Option<&Software>,
        integrity: Option<&Credentials>,
    ) -> Option<Vec<u8>> {
        if let Some(software) = software {
            self.add(software);
        }
        let mut tail = || -> Result<(), StunWriteError> {
            if let Some(creds) = integrity {
                self.writer
                    .add_message_integrity_with_key(&creds.key, creds.algorithm)?;
            }
            self.writer.add_fingerprint()
        };
        let ok = tail().is_ok();
        (ok && !self.failed).then(|| self.writer.finish())
    }

    /// Finish an indication: no SOFTWARE, integrity or FINGERPRINT (Data indications are
    /// the hot path and RFC 8656 requires none of them).
    pub(crate) fn finish_bare(self) -> Option<Vec<u8>> {
        (!self.failed).then(|| self.writer.finish())
    }
}
