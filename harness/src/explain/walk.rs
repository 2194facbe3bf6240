//! Turning the codec's recorded spans into [`Field`]s: the spans as a tree, a name and a
//! meaning for each, and leaves for bytes no span covers.

use super::*;

/// A recorded span with the spans recorded inside it (for a group).
struct Node<'s> {
    span: &'s Span,
    children: Vec<Node<'s>>,
}

/// The spans as a forest, using their depth: a group's children are the deeper spans
/// that follow it.
fn forest(spans: &[Span]) -> Vec<Node<'_>> {
    fn take<'s>(
        spans: &mut std::iter::Peekable<std::slice::Iter<'s, Span>>,
        depth: usize,
    ) -> Vec<Node<'s>> {
        let mut out = Vec::new();
        while let Some(span) = spans.next_if(|s| s.depth == depth) {
            let children = if span.kind.is_group() {
                take(spans, depth + 1)
            } else {
                Vec::new()
            };
            out.push(Node { span, children });
        }
        out
    }
    let mut iter = spans.iter().peekable();
    let mut roots = take(&mut iter, 0);
    // Spans deeper than expected (none in practice) are kept as roots rather than lost.
    for span in iter {
        roots.push(Node {
            span,
            children: Vec::new(),
        });
    }
    roots
}

/// Turns spans into fields, adding meanings.
struct Explainer<'a> {
    bytes: &'a [u8],
    sender: Option<Side>,
    /// The messages the transcript holds before this one, in words, when known.
    transcript_before: Option<&'a str>,
    kind: Kind,
    /// Why decoding stopped, if it did.
    error: Option<String>,
    /// The extension being explained and the group of the key share being explained.
    extension: Option<ExtensionType>,
    group: Option<NamedGroup>,
    /// Index of the next CertificateEntry.
    certificate: usize,
    fields: Vec<Field>,
}

impl<'a> Explainer<'a> {
    fn slice(&self, span: &Span) -> &'a [u8] {
        self.bytes.get(span.range()).unwrap_or_default()
    }

    fn push(&mut self, depth: usize, name: String, offset: usize, bytes: &[u8], meaning: String) {
        self.fields.push(Field {
            depth,
            name,
            offset,
            hex: hex::encode(bytes),
            meaning,
            len: bytes.len(),
            group: false,
        });
    }

    /// A length prefix as a leaf.
    fn push_length(&mut self, depth: usize, name: String, length: &Span, meaning: String) {
        let bytes = self.slice(length);
        self.push(depth, name, length.start, bytes, meaning);
    }

    fn push_group(
        &mut self,
        depth: usize,
        name: String,
        offset: usize,
        len: usize,
        meaning: String,
    ) {
        self.fields.push(Field {
            depth,
            name,
            offset,
            hex: String::new(),
            meaning,
            len,
            group: true,
        });
    }

    /// A leaf for `from..to` that no span explains.
    fn rest(&mut self, depth: usize, from: usize, to: usize) {
        if from >= to {
            return;
        }
        let bytes = self.bytes.get(from..to).unwrap_or_default();
        let why = match &self.error {
            Some(error) => format!(" ({error})"),
            None => String::new(),
        };
        let meaning = format!(
            "{} byte(s) that do not decode as this structure: malformed, truncated or not \
             understood{why}",
            bytes.len()
        );
        self.push(depth, "undecodable rest".into(), from, bytes, meaning);
    }

    /// Explains `nodes`, which lie in `from..to`, at `depth`; bytes of the region no span
    /// covers become an "undecodable rest" leaf.
    fn sequence(&mut self, nodes: &[Node<'_>], from: usize, to: usize, depth: usize) {
        let mut pos = from;
        let mut i = 0;
        while let Some(node) = nodes.get(i) {
            let span = node.span;
            if span.start < pos || span.end > to {
                // Not where a span should be (never for the codec's spans): leave it to
                // the rest.
                i += 1;
                continue;
            }
            self.rest(depth, pos, span.start);
            let pair = nodes
                .get(i + 1)
                .filter(|next| {
                    span.kind == SpanKind::Length
                        && next.span.what == span.what
                        && next.span.start == span.end
                        && next.span.end <= to
                })
                .map(|next| (next.span, next.children.as_slice()));
            match (span.kind, pair) {
                (SpanKind::Length, Some((body, children))) => {
                    i += 1;
                    self.vector(span, body, children, depth);
                    pos = body.end;
                }
                (SpanKind::Length, None) => {
                    let declared = uint(self.slice(span));
                    let available = to - span.end;
                    let meaning = length_meaning(declared, available);
                    let name = format!("{} length", field_name(span.what));
                    self.push(depth, name, span.start, self.slice(span), meaning);
                    pos = span.end;
                }
                (SpanKind::Body, _) => {
                    self.sequence(&node.children, span.start, span.end, depth);
                    pos = span.end;
                }
                (SpanKind::Struct, _) => {
                    self.structure(node, depth);
                    pos = span.end;
                }
                (SpanKind::Value, _) => {
                    self.value(span, depth);
                    pos = span.end;
                }
            }
            i += 1;
        }
        self.rest(depth, pos, to);
    }

    /// A length prefix and the vector it announces.
    fn vector(&mut self, length: &Span, body: &Span, children: &[Node<'_>], depth: usize) {
        let declared = uint(self.slice(length));
        let contents = self.slice(body);
        let name = field_name(length.what);
        let truncated = usize::try_from(declared).map_or(true, |n| n > contents.len());
        match body.kind {
            // Extension data is shown flat inside its extension's group.
            SpanKind::Body if body.what == "Extension.extension_data" => {
                let meaning = length_meaning(declared, contents.len());
                self.push_length(depth, format!("{name} length"), length, meaning);
                self.sequence(children, body.start, body.end, depth);
            }
            SpanKind::Body => {
                let meaning = self.group_meaning(body.what, contents, children);
                self.push_group(
                    depth,
                    name.clone(),
                    length.start,
                    body.end - length.start,
                    meaning,
                );
                let meaning = length_meaning(declared, contents.len());
                self.push_length(depth + 1, "length".into(), length, meaning);
                self.sequence(children, body.start, body.end, depth + 1);
            }
            // An opaque value: its length, then the value (only the length when empty).
            _ => {
                let value = self.leaf_meaning(body.what, contents);
                if contents.is_empty() && !truncated {
                    let meaning = format!("0: empty; {value}");
                    self.push_length(depth, format!("{name} length"), length, meaning);
                    return;
                }
                let meaning = length_meaning(declared, contents.len());
                self.push_length(depth, format!("{name} length"), length, meaning);
                let value = if truncated {
                    format!(
                        "truncated: {} of {declared} bytes present; {value}",
                        contents.len()
                    )
                } else {
                    value
                };
                if !contents.is_empty() {
                    self.push(depth, name, body.start, contents, value);
                }
            }
        }
    }

    /// A structure (Extension, KeyShareEntry, CertificateEntry) as a group.
    fn structure(&mut self, node: &Node<'_>, depth: usize) {
        let span = node.span;
        if span.is_empty() && node.children.is_empty() {
            return;
        }
        let first = node
            .children
            .first()
            .map(|c| self.slice(c.span))
            .unwrap_or_default();
        let saved = (self.extension, self.group);
        let (name, meaning) = match span.what {
            "Extension" => {
                let typ = ExtensionType::from_u16(uint(first) as u16);
                self.extension = Some(typ);
                let context = self.kind.context();
                let mut meaning = extensions::purpose(typ, context);
                if typ.permitted_in(context) == Some(false) {
                    meaning.push_str(&format!(
                        "; NOT allowed in a {context} (§4.2 table): a receiver aborts with \
                         illegal_parameter"
                    ));
                }
                (format!("extension {typ}"), meaning)
            }
            "KeyShareEntry" => {
                let group = NamedGroup::from_u16(uint(first) as u16);
                self.group = Some(group);
                (
                    "KeyShareEntry".into(),
                    format!(
                        "the {}'s public key for {group}",
                        extensions::side(self.kind.context())
                    ),
                )
            }
            "CertificateEntry" => {
                let index = self.certificate;
                self.certificate += 1;
                (
                    format!("CertificateEntry #{index}"),
                    cert::entry_role(index, self.sender),
                )
            }
            other => (field_name(other), String::new()),
        };
        self.push_group(depth, name, span.start, span.len(), meaning);
        self.sequence(&node.children, span.start, span.end, depth + 1);
        (self.extension, self.group) = saved;
    }

    /// A value leaf.
    fn value(&mut self, span: &Span, depth: usize) {
        let bytes = self.slice(span);
        if bytes.is_empty() && !matches!(span.what, "Finished.verify_data" | "MessageHash.hash") {
            return;
        }
        let meaning = self.leaf_meaning(span.what, bytes);
        let name = match (span.what, self.extension) {
            ("Extension.extension_data", Some(ExtensionType::Padding)) => "padding".into(),
            ("Extension.extension_data", Some(ExtensionType::RecordSizeLimit))
                if bytes.len() == 2 =>
            {
                "record_size_limit".into()
            }
            (what, _) => field_name(what),
        };
        self.push(depth, name, span.start, bytes, meaning);
    }

    /// What a value read as `what` means.
    fn leaf_meaning(&mut self, what: &str, bytes: &[u8]) -> String {
        let context = self.kind.context();
        let v = uint(bytes);
        match what {
            "Handshake.msg_type" => format!(
                "{} ({v}), the HandshakeType (§4)",
                HandshakeType::from_u8(v as u8)
            ),
            "Handshake.length" => {
                let present = self.bytes.len().saturating_sub(4);
                header_length_meaning(v, present)
            }
            "Handshake.body" => "not decoded: unknown handshake type".into(),
            "KeyShareEntry.group" => {
                let group = NamedGroup::from_u16(v as u16);
                self.group = Some(group);
                code_point(group.name(), v as u16, 4)
            }
            "KeyShareEntry.key_exchange" => extensions::key_exchange(
                self.group.unwrap_or(NamedGroup::Unknown(0)),
                bytes,
                extensions::side(context),
            ),
            "Extension.extension_type" => {
                code_point(ExtensionType::from_u16(v as u16).name(), v as u16, 4)
            }
            "Extension.extension_data" => extensions::raw_data(self.extension, bytes),
            "ProtocolName" => extensions::protocol_name(bytes, context),
            _ => hello::meaning(self.kind, what, bytes)
                .or_else(|| extensions::meaning(what, bytes))
                .or_else(|| cert::meaning(what, bytes, self.sender))
                .or_else(|| post::meaning(what, bytes, self.sender, self.transcript_before))
                .unwrap_or_else(|| "a field of this message".into()),
        }
    }

    /// What the vector `what` with these contents holds.
    fn group_meaning(&self, what: &str, contents: &[u8], children: &[Node<'_>]) -> String {
        let context = self.kind.context();
        if what.ends_with(".extensions") {
            let n = children
                .iter()
                .filter(|c| c.span.kind == SpanKind::Struct)
                .count();
            return match n {
                0 if contents.is_empty() => format!("none in this {context} (§4.2)"),
                1 => format!("1 extension in this {context} (§4.2)"),
                n => format!("{n} extensions in this {context} (§4.2)"),
            };
        }
        if what == "ProtocolNameList.protocol_name_list" {
            let names = children
                .iter()
                .filter(|c| c.span.what == "ProtocolName" && c.span.kind == SpanKind::Value)
                .count();
            return extensions::protocol_name_list(names, context);
        }
        hello::group_meaning(what, contents)
            .or_else(|| extensions::group_meaning(what, contents))
            .or_else(|| cert::group_meaning(what, contents, self.sender))
            .unwrap_or_else(|| format!("{} bytes", contents.len()))
    }
}

/// The name a field has in RFC 8446 (or the RFC defining it), from the codec's name for
/// the read: the part after the structure's name, or the element name of a list of code
/// points.
fn field_name(what: &str) -> String {
    let name = match what {
        "HostName" => "host_name",
        "ProtocolName" => "protocol_name",
        "CipherSuite" => "cipher_suite",
        "NamedGroup" => "named_group",
        "SignatureScheme" => "signature_scheme",
        "ProtocolVersion" => "version",
        "PskKeyExchangeMode" => "ke_mode",
        "PskBinderEntry" => "binder",
        "ServerName.name_type" => "name_type",
        "PreSharedKeyExtension.selected_identity" => "selected_identity",
        "EarlyDataIndication.max_early_data_size" => "max_early_data_size",
        "KeyShareHelloRetryRequest.selected_group" => "selected_group",
        other => other.rsplit('.').next().unwrap_or(other),
    };
    name.to_owned()
}

/// A big-endian unsigned integer of up to 4 bytes (more are cut to the last 4).
pub(super) fn uint(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
}

pub(super) fn explain(
    bytes: &[u8],
    sender: Option<Side>,
    transcript_before: Option<&str>,
) -> Vec<Field> {
    if bytes.is_empty() {
        return vec![Field {
            depth: 0,
            name: "empty input".into(),
            offset: 0,
            hex: String::new(),
            meaning: "no bytes: a handshake message has at least its 4-byte header (§4)".into(),
            len: 0,
            group: false,
        }];
    }
    let (result, spans) = record_spans_lenient(bytes, HandshakeMessage::read);
    let typ = HandshakeType::from_u8(bytes.first().copied().unwrap_or_default());
    let retry = typ == HandshakeType::ServerHello
        && spans.iter().any(|s| {
            s.what == "ServerHello.random"
                && bytes.get(s.range()) == Some(&HELLO_RETRY_REQUEST_RANDOM[..])
        });
    let kind = Kind { typ, retry };
    let mut ex = Explainer {
        bytes,
        sender,
        transcript_before,
        kind,
        error: result.err().map(|e| e.to_string()),
        extension: None,
        group: None,
        certificate: 0,
        fields: Vec::new(),
    };
    ex.push_group(0, kind.name().into(), 0, bytes.len(), kind.summary(sender));
    let roots = forest(&spans);
    let body_end = roots
        .iter()
        .find(|n| n.span.what == "Handshake.body" && n.span.kind == SpanKind::Body)
        .map(|n| n.span.end);
    let end = body_end.unwrap_or(bytes.len());
    ex.sequence(&roots, 0, end, 1);
    if typ == HandshakeType::EndOfEarlyData && body_end == Some(4) {
        ex.fields.push(Field {
            depth: 1,
            name: "body".into(),
            offset: 4,
            hex: String::new(),
            meaning: "empty, as it must be (§4.5)".into(),
            len: 0,
            group: false,
        });
    }
    if let Some(rest) = bytes.get(end..).filter(|rest| !rest.is_empty()) {
        let meaning = format!(
            "{} byte(s) after the declared length: not part of this message",
            rest.len()
        );
        ex.push(1, "trailing bytes".into(), end, rest, meaning);
    }
    ex.fields
}
