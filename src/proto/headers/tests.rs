//! Tests of the field checks and of building `http` heads from fields.
use super::*;

fn f(name: &str, value: &str) -> Field {
    Field {
        name: Bytes::copy_from_slice(name.as_bytes()),
        value: Bytes::copy_from_slice(value.as_bytes()),
        never_index: false,
    }
}

fn get() -> Vec<Field> {
    vec![
        f(":method", "GET"),
        f(":scheme", "https"),
        f(":authority", "example.com"),
        f(":path", "/a?b=c"),
    ]
}

#[test]
fn s8_3_1_request_converts_to_http_request() {
    let mut fields = get();
    fields.push(f("accept", "*/*"));
    let r = request_from_fields(&mut fields.clone(), false).unwrap();
    assert_eq!(r.request.method(), Method::GET);
    assert_eq!(r.request.uri(), "https://example.com/a?b=c");
    assert_eq!(r.request.headers()["accept"], "*/*");
    assert_eq!(r.content_length, None);
}

#[test]
fn s8_3_1_host_used_when_authority_absent() {
    let fields = vec![
        f(":method", "GET"),
        f(":scheme", "http"),
        f(":path", "/"),
        f("host", "h.example:8080"),
    ];
    let r = request_from_fields(&mut fields.clone(), false).unwrap();
    assert_eq!(r.request.uri(), "http://h.example:8080/");
}

#[test]
fn s8_3_1_authority_with_userinfo_is_malformed() {
    let mut fields = get();
    fields[2] = f(":authority", "user:pw@example.com");
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_3_1_authority_and_host_differing_is_malformed() {
    let mut fields = get();
    fields.push(f("host", "other.example"));
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_3_1_missing_method_scheme_or_path_is_malformed() {
    for skip in [":method", ":scheme", ":path"] {
        let fields: Vec<_> = get()
            .into_iter()
            .filter(|x| &x.name[..] != skip.as_bytes())
            .collect();
        assert!(
            request_from_fields(&mut fields.clone(), false).is_err(),
            "{skip}"
        );
    }
}

#[test]
fn s8_3_1_empty_path_is_malformed() {
    let mut fields = get();
    fields[3] = f(":path", "");
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_3_1_asterisk_path_only_for_options() {
    let mut fields = get();
    fields[3] = f(":path", "*");
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
    fields[0] = f(":method", "OPTIONS");
    assert!(request_from_fields(&mut fields.clone(), false).is_ok());
}

#[test]
fn s8_3_duplicate_pseudo_header_is_malformed() {
    let mut fields = get();
    fields.insert(1, f(":method", "GET"));
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_3_unknown_pseudo_header_is_malformed() {
    let mut fields = get();
    fields.insert(1, f(":foo", "bar"));
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_3_response_pseudo_header_in_request_is_malformed() {
    let mut fields = get();
    fields.insert(1, f(":status", "200"));
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_3_request_pseudo_header_in_response_is_malformed() {
    let fields = vec![f(":status", "200"), f(":path", "/")];
    assert!(response_from_fields(&mut fields.clone()).is_err());
}

#[test]
fn s8_3_pseudo_header_after_regular_field_is_malformed() {
    let mut fields = get();
    fields.insert(2, f("accept", "*/*"));
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_2_1_uppercase_field_name_is_malformed() {
    let mut fields = get();
    fields.push(f("Accept", "x"));
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_2_1_field_name_with_colon_or_space_is_malformed() {
    for name in ["a:b", "a b", "a\x7f"] {
        let mut fields = get();
        fields.push(f(name, "x"));
        assert!(
            request_from_fields(&mut fields.clone(), false).is_err(),
            "{name:?}"
        );
    }
}

#[test]
fn s8_2_1_field_value_with_nul_cr_lf_is_malformed() {
    for v in ["a\0b", "a\rb", "a\nb"] {
        let mut fields = get();
        fields.push(f("x", v));
        assert!(
            request_from_fields(&mut fields.clone(), false).is_err(),
            "{v:?}"
        );
    }
}

#[test]
fn s8_2_1_field_value_with_surrounding_whitespace_is_malformed() {
    for v in [" a", "a ", "\ta", "a\t"] {
        let mut fields = get();
        fields.push(f("x", v));
        assert!(
            request_from_fields(&mut fields.clone(), false).is_err(),
            "{v:?}"
        );
    }
    let mut fields = get();
    fields.push(f("x", "a b\tc"));
    assert!(request_from_fields(&mut fields.clone(), false).is_ok());
}

/// `add_field` takes a name with `HeaderName::from_lowercase` (and no
/// `"`);
/// before, `valid_name` and then `HeaderName::from_bytes` both had to
/// pass. The same names pass, octet by octet, at both ends and inside.
#[test]
fn s8_2_1_names_accepted_as_before() {
    for b in 0..=255u8 {
        for name in [vec![b], vec![b'a', b], vec![b, b'a'], vec![b'x', b, b'y']] {
            let before = valid_name(&name) && HeaderName::from_bytes(&name).is_ok();
            let now = HeaderName::from_lowercase(&name).is_ok() && !name.contains(&b'"');
            assert_eq!(before, now, "{name:?}");
        }
    }
}

/// One pass over a value decides both RFC 9113 §8.2.1 and `HeaderValue`'s
/// own rule; what passes is what passed both before, octet by octet.
#[test]
fn s8_2_1_values_accepted_as_before() {
    for b in 0..=255u8 {
        for value in [vec![b], vec![b'a', b], vec![b, b'a'], vec![b'x', b, b'y']] {
            let before = valid_value(&value) && HeaderValue::from_bytes(&value).is_ok();
            let check = check_value(&value);
            let now = matches!(check, ValueCheck::Ascii | ValueCheck::ObsText);
            assert_eq!(before, now, "{value:?}");
            if check == ValueCheck::Ascii {
                assert!(std::str::from_utf8(&value).is_ok());
            }
            let mut fields = get();
            fields.push(Field {
                name: Bytes::from_static(b"x"),
                value: Bytes::from(value.clone()),
                never_index: false,
            });
            match request_from_fields(&mut fields.clone(), false) {
                Ok(r) => {
                    assert!(before, "{value:?}");
                    assert_eq!(r.request.headers()["x"].as_bytes(), &value[..]);
                }
                Err(_) => assert!(!before, "{value:?}"),
            }
        }
    }
}

#[test]
fn obs_text_value_is_kept_as_sent() {
    let mut fields = get();
    fields.push(f("x", "a"));
    fields[4].value = Bytes::from_static(b"caf\xe9 \xff");
    let r = request_from_fields(&mut fields.clone(), false).unwrap();
    assert_eq!(r.request.headers()["x"].as_bytes(), b"caf\xe9 \xff");
}

#[test]
fn values_and_authority_are_slices_of_the_decoded_block() {
    let block = Bytes::from_static(b"example.com/a?b=cGETagent");
    let mut fields = get();
    fields[2].value = block.slice(0..11);
    fields[3].value = block.slice(11..17);
    fields.push(Field {
        name: Bytes::from_static(b"user-agent"),
        value: block.slice(20..25),
        never_index: false,
    });
    let r = request_from_fields(&mut fields.clone(), false).unwrap();
    let uri = r.request.uri();
    assert_eq!(
        uri.authority().unwrap().as_str().as_ptr(),
        block[0..].as_ptr()
    );
    assert_eq!(
        uri.path_and_query().unwrap().as_str().as_ptr(),
        block[11..].as_ptr()
    );
    assert_eq!(
        r.request.headers()["user-agent"].as_bytes().as_ptr(),
        block[20..].as_ptr()
    );
}

#[test]
fn rfc9218_priority_field_is_flagged() {
    let r = request_from_fields(&mut get(), false).unwrap();
    assert!(!r.priority);
    let mut fields = get();
    fields.push(f("priority", "u=1"));
    assert!(
        request_from_fields(&mut fields.clone(), false)
            .unwrap()
            .priority
    );
}

#[test]
fn s8_3_1_host_stands_in_as_sent() {
    let host = Bytes::from_static(b"h.example");
    let fields = vec![
        f(":method", "GET"),
        f(":scheme", "http"),
        f(":path", "/"),
        f("host", "other"),
    ];
    let mut fields = fields;
    fields[3].value = host.clone();
    fields.push(f("host", "second"));
    let r = request_from_fields(&mut fields.clone(), false).unwrap();
    assert_eq!(
        r.request.uri().authority().unwrap().as_str().as_ptr(),
        host.as_ptr()
    );
}

#[test]
fn s8_2_2_connection_specific_fields_are_malformed() {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ] {
        let mut fields = get();
        fields.push(f(name, "x"));
        assert!(
            request_from_fields(&mut fields.clone(), false).is_err(),
            "{name}"
        );
    }
}

#[test]
fn s8_2_2_te_only_trailers() {
    let mut fields = get();
    fields.push(f("te", "trailers"));
    assert!(request_from_fields(&mut fields.clone(), false).is_ok());
    let mut fields = get();
    fields.push(f("te", "gzip"));
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_1_1_content_length_parsed_and_conflicts_rejected() {
    let mut fields = get();
    fields.push(f("content-length", "42"));
    assert_eq!(
        request_from_fields(&mut fields.clone(), false)
            .unwrap()
            .content_length,
        Some(42)
    );
    fields.push(f("content-length", "43"));
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
    let mut fields = get();
    fields.push(f("content-length", "4x"));
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn s8_5_connect_needs_authority_only() {
    let fields = vec![f(":method", "CONNECT"), f(":authority", "example.com:443")];
    let r = request_from_fields(&mut fields.clone(), false).unwrap();
    assert_eq!(r.request.uri().authority().unwrap(), "example.com:443");
    let fields = vec![
        f(":method", "CONNECT"),
        f(":authority", "example.com:443"),
        f(":path", "/"),
    ];
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
    let fields = vec![f(":method", "CONNECT")];
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
}

#[test]
fn rfc8441_protocol_needs_enable_connect_protocol() {
    let fields = vec![
        f(":method", "CONNECT"),
        f(":protocol", "websocket"),
        f(":scheme", "https"),
        f(":path", "/chat"),
        f(":authority", "example.com"),
    ];
    assert!(request_from_fields(&mut fields.clone(), false).is_err());
    let r = request_from_fields(&mut fields.clone(), true).unwrap();
    assert_eq!(
        r.request.extensions().get::<Protocol>(),
        Some(&Protocol(Bytes::from_static(b"websocket")))
    );
}

#[test]
fn s8_3_2_response_needs_status() {
    assert!(response_from_fields(&mut [f("a", "b")]).is_err());
    let r = response_from_fields(&mut [f(":status", "204")]).unwrap();
    assert_eq!(r.response.status(), StatusCode::NO_CONTENT);
    assert!(response_from_fields(&mut [f(":status", "20")]).is_err());
    assert!(response_from_fields(&mut [f(":status", "2000")]).is_err());
}

#[test]
fn s8_6_status_101_is_malformed() {
    assert!(response_from_fields(&mut [f(":status", "101")]).is_err());
}

#[test]
fn s8_1_trailers_must_not_contain_pseudo_headers() {
    assert!(trailers_from_fields(&mut [f(":status", "200")]).is_err());
    assert_eq!(
        trailers_from_fields(&mut [f("x-t", "ok")]).unwrap()["x-t"],
        "ok"
    );
}

#[test]
fn never_indexed_field_is_kept_sensitive() {
    let mut fields = get();
    fields.push(Field {
        never_index: true,
        ..f("authorization", "secret")
    });
    let r = request_from_fields(&mut fields.clone(), false).unwrap();
    assert!(r.request.headers()["authorization"].is_sensitive());
}

#[test]
fn outgoing_request_pseudo_headers_from_uri() {
    let req = Request::get("https://example.com/x?y").body(()).unwrap();
    let (p, folded) = request_pseudo(&req, false).unwrap();
    let got: Vec<_> = p.iter().flatten().map(|f| (f.name, f.value)).collect();
    assert_eq!(
        got,
        vec![
            (&b":method"[..], &b"GET"[..]),
            (b":scheme", b"https"),
            (b":authority", b"example.com"),
            (b":path", b"/x?y")
        ]
    );
    assert!(folded);
}

#[test]
fn s8_1_1_outgoing_head_declares_its_first_content_length() {
    let mut h = HeaderMap::new();
    assert_eq!(
        check_outgoing_head(&h, false),
        Ok(OutgoingHead {
            size: 0,
            declared: None,
            has_length: false
        })
    );
    h.append(header::CONTENT_LENGTH, HeaderValue::from_static("12"));
    h.append(header::CONTENT_LENGTH, HeaderValue::from_static("13"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    let out = check_outgoing_head(&h, false).unwrap();
    assert_eq!(out.declared, Some(12));
    assert!(out.has_length);
    assert_eq!(out.size, check_outgoing(&h, false).unwrap());
    let mut h = HeaderMap::new();
    h.append(header::CONTENT_LENGTH, HeaderValue::from_static("x"));
    h.append(header::CONTENT_LENGTH, HeaderValue::from_static("13"));
    let out = check_outgoing_head(&h, false).unwrap();
    assert_eq!((out.declared, out.has_length), (None, true));
}

#[test]
fn length_field_is_the_number_in_decimal() {
    for n in [0u64, 7, 10, 12, 999, 1000, 65_535, u64::MAX] {
        let l = Length::new(n);
        let f = l.field();
        assert_eq!(f.name, b"content-length");
        assert_eq!(f.value, n.to_string().as_bytes());
    }
}

#[test]
fn outgoing_connection_specific_field_is_rejected() {
    let mut h = HeaderMap::new();
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    assert!(check_outgoing(&h, false).is_err());
    let mut h = HeaderMap::new();
    h.insert(header::TE, HeaderValue::from_static("gzip"));
    assert!(check_outgoing(&h, false).is_err());
    let mut h = HeaderMap::new();
    h.insert("x", HeaderValue::from_static(" padded"));
    assert!(check_outgoing(&h, false).is_err());
}

/// §8.2.1's value checks take eight octets at a time when they can
/// (`visible_ascii`): every octet value, at every place of a value long
/// enough for two words and a tail, gives the answer of the octet-by-octet
/// rule.
#[test]
fn s8_2_1_word_check_agrees_with_octet_rule() {
    for len in [1usize, 7, 8, 9, 16, 17, 23] {
        for pos in 0..len {
            for b in 0..=255u8 {
                let mut v = vec![b'a'; len];
                v[pos] = b;
                let want = v.iter().all(|&c| (0x20..0x7f).contains(&c));
                assert_eq!(visible_ascii(&v), want, "len {len} pos {pos} octet {b:#x}");
                let malformed = v.iter().any(|&c| c == 0 || c == b'\r' || c == b'\n')
                    || matches!(v.first(), Some(b' ' | b'\t'))
                    || matches!(v.last(), Some(b' ' | b'\t'));
                assert_eq!(
                    valid_value(&v),
                    !malformed,
                    "len {len} pos {pos} octet {b:#x}"
                );
                let expect = if malformed {
                    ValueCheck::Malformed
                } else if v.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f) {
                    ValueCheck::Control
                } else if v.iter().any(|&c| c >= 0x80) {
                    ValueCheck::ObsText
                } else {
                    ValueCheck::Ascii
                };
                assert_eq!(check_value(&v), expect, "len {len} pos {pos} octet {b:#x}");
            }
        }
    }
}
