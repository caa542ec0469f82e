#!/usr/bin/env python3
"""Generates src/hpack/huffman_table.rs from the Huffman code in RFC 7541
Appendix B (the RFC text is the only input).

Usage: tools/gen_hpack_huffman.py [path/to/hpack-rfc7541.txt] > src/hpack/huffman_table.rs
       rustfmt src/hpack/huffman_table.rs

The output is committed: the build does not need the RFC text. The test
`huffman_table_matches_rfc_appendix_b` re-parses the RFC (when it is found)
and checks the committed encode table against it; the decode table is checked
by exhaustive and property round trips.

Fast decode table (`FAST`, used by the decoder): indexed by the next 12 bits
of input, it gives up to two complete symbols found in them and how many bits
they take; codes longer than 12 bits (rare: none of the letters, digits or
common punctuation) are decoded canonically with `LONG` and `SYMS_BY_CODE`,
since the RFC code is canonical (checked below).

Nibble table (`DECODE`, used to validate dropped strings and as an
independent cross-check of `FAST` in the tests): a 4-bit state machine. The 256 states are the 256 internal nodes
of the Huffman tree (state 0 = root). For each state and each nibble (4 input
bits, most significant first) the entry says where the walk ends, whether a
symbol was completed on the way (at most one: the shortest code is 5 bits),
whether EOS was reached (an error inside a string, RFC 7541 §5.2), and whether
the string may end in the resulting state: either at the root, or after a
prefix of EOS (all ones) of at most 7 bits (the only padding §5.2 allows).
"""
import re
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/rfc/hpack-rfc7541.txt"
text = open(path, encoding="utf-8").read()
# The last occurrence of each title: the first ones are in the table of contents.
start = text.rindex("Appendix B.  Huffman Code")
end = text.rindex("Appendix C.  Examples")
assert start < end
rows = re.findall(r"\(\s*(\d+)\)\s+\|([01|]+)\s+([0-9a-f]+)\s+\[\s*(\d+)\]", text[start:end])
codes = {}
for sym, bits, hexcode, length in rows:
    sym, length = int(sym), int(length)
    bits = bits.replace("|", "")
    assert len(bits) == length, (sym, bits, length)
    assert int(bits, 2) == int(hexcode, 16), sym
    assert sym not in codes
    codes[sym] = (int(hexcode, 16), length)
assert sorted(codes) == list(range(257)), "expected symbols 0..=256"

# Build the tree. children[node] = [c0, c1]; a child is ("n", id) or ("s", sym).
children = [[None, None]]
depth = [0]
for sym, (code, length) in codes.items():
    node = 0
    for i in range(length - 1, -1, -1):
        bit = (code >> i) & 1
        if i == 0:
            assert children[node][bit] is None, "code is not prefix-free"
            children[node][bit] = ("s", sym)
        else:
            c = children[node][bit]
            if c is None:
                children.append([None, None])
                depth.append(depth[node] + 1)
                c = ("n", len(children) - 1)
                children[node][bit] = c
            assert c[0] == "n", "code is not prefix-free"
            node = c[1]
assert len(children) == 256, len(children)
for ch in children:
    assert ch[0] is not None and ch[1] is not None, "code is not complete"

# The all-ones path (prefix of EOS): accepting when at most 7 bits deep.
accepting = {0}
node = 0
for d in range(1, 8):
    node = children[node][1][1]
    accepting.add(node)


# Canonical: sorted by (length, code), each code is the previous + 1, shifted
# left when the length grows. That lets long codes be decoded by comparison.
order = sorted(range(257), key=lambda s: (codes[s][1], codes[s][0]))
expect, plen = None, None
for s_ in order:
    c, l = codes[s_]
    if expect is not None:
        expect = (expect + 1) << (l - plen)
        assert expect == c, "code is not canonical"
    else:
        expect = c
    plen = l

FAST_BITS = 12
def walk(bits, start):
    """First complete symbol in bits[start:], as (sym, length) or None."""
    node = 0
    for k in range(start, len(bits)):
        kind, val = children[node][bits[k]]
        if kind == "s":
            return val, k + 1 - start
        node = val
    return None

fast = []
for v in range(1 << FAST_BITS):
    bits = [(v >> (FAST_BITS - 1 - k)) & 1 for k in range(FAST_BITS)]
    first = walk(bits, 0)
    if first is None:
        fast.append(0)
        continue
    sym1, len1 = first
    assert sym1 != 256
    second = walk(bits, len1)
    if second is None:
        fast.append(len1 | (1 << 6) | (sym1 << 8) | (len1 << 24))
    else:
        sym2, len2 = second
        assert sym2 != 256
        fast.append((len1 + len2) | (2 << 6) | (sym1 << 8) | (sym2 << 16) | (len1 << 24))

long_rows = []
offset = 0
for l in sorted(set(c[1] for c in codes.values())):
    syms = [s_ for s_ in order if codes[s_][1] == l]
    first_code = codes[syms[0]][0]
    if l > FAST_BITS:
        limit = (first_code + len(syms)) << (32 - l)
        long_rows.append((limit, first_code, offset, l))
    offset += len(syms)

EMIT, ACCEPT, FAIL = 1, 2, 4
table = []
for state in range(256):
    row = []
    for nibble in range(16):
        node, sym, flags = state, 0, 0
        for i in range(3, -1, -1):
            kind, val = children[node][(nibble >> i) & 1]
            if kind == "n":
                node = val
            elif val == 256:
                flags |= FAIL
                node = 0
                break
            else:
                assert not flags & EMIT
                flags |= EMIT
                sym = val
                node = 0
        if not flags & FAIL and node in accepting:
            flags |= ACCEPT
        if flags & FAIL:
            node, sym, flags = 0, 0, FAIL
        row.append(node | (sym << 8) | (flags << 16))
    table.append(row)

out = []
out.append("// @generated by tools/gen_hpack_huffman.py from RFC 7541 Appendix B. Do not edit.")
out.append("//! Huffman code tables (RFC 7541 Appendix B), generated from the RFC text.")
out.append("")
out.append("/// `(code, bit length)` per symbol 0..=256 (256 = EOS), code aligned to the LSB.")
out.append("pub(crate) static ENCODE: [(u32, u8); 257] = [")
for sym in range(257):
    code, length = codes[sym]
    out.append(f"    (0x{code:x}, {length}),")
out.append("];")
out.append("")
out.append("/// A symbol was completed during this nibble (it is in bits 8..16).")
out.append(f"pub(crate) const EMIT: u32 = 0x{EMIT << 16:x};")
out.append("/// The string may end in the resulting state (root, or at most 7 bits of EOS prefix).")
out.append(f"pub(crate) const ACCEPT: u32 = 0x{ACCEPT << 16:x};")
out.append("/// EOS was decoded: an error inside a string literal (RFC 7541 §5.2).")
out.append(f"pub(crate) const FAIL: u32 = 0x{FAIL << 16:x};")
out.append("")
out.append("/// `DECODE[state][nibble]` = next state (bits 0..8) | symbol << 8 | flags.")
out.append("pub(crate) static DECODE: [[u32; 16]; 256] = [")
for row in table:
    out.append("    [")
    for i in range(0, 16, 4):
        out.append("        " + " ".join(f"0x{v:06x}," for v in row[i:i + 4]))
    out.append("    ],")
out.append("];")
out.append("")
out.append(f"/// Bits looked at per step of the fast decoder.")
out.append(f"pub(crate) const FAST_BITS: u32 = {FAST_BITS};")
out.append("")
out.append("/// `FAST[next 12 bits]` = total bits (bits 0..5, bit 5 clear) | number of")
out.append("/// symbols (0, 1 or 2) << 6 | sym1 << 8 | sym2 << 16 | bits of sym1 << 24.")
out.append("/// The total is in the low bits so that `acc.wrapping_shl(entry)` consumes it")
out.append("/// directly. 0 symbols (entry 0): a code longer than 12 bits.")
out.append("pub(crate) static FAST: [u32; 4096] = [")
for i in range(0, 4096, 8):
    out.append("    " + " ".join(f"0x{v:08x}," for v in fast[i:i + 8]))
out.append("];")
out.append("")
out.append("/// Codes longer than 12 bits, canonical (RFC 7541 Appendix B): per length,")
out.append("/// `(limit, first code, offset, length)`: a 32-bit left-aligned window below")
out.append("/// `limit` holds a code of this length, the symbol being")
out.append("/// `SYMS_BY_CODE[offset + (window >> (32 - length)) - first code]`.")
out.append(f"pub(crate) static LONG: [(u64, u32, u16, u8); {len(long_rows)}] = [")
for limit, first_code, off, l in long_rows:
    out.append(f"    (0x{limit:x}, 0x{first_code:x}, {off}, {l}),")
out.append("];")
out.append("")
out.append("/// Symbols sorted by (code length, code).")
out.append("pub(crate) static SYMS_BY_CODE: [u16; 257] = [")
for i in range(0, 257, 16):
    out.append("    " + " ".join(f"{v}," for v in order[i:i + 16]))
out.append("];")
print("\n".join(out))
