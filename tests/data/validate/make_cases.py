#!/usr/bin/env python3
"""make_cases.py - writes the validator cases of tests/data/validate (run by
tests/unit/test_validate_cases.c). The generated files are checked in; rerun this script after
editing a case and commit its output.

Every expectation below is written by hand from STANDARD-FORMAT.md and the reason wording of
worker/validate.c / coordinator/finalizer.c, never copied from the program's output:

  error file  = for each rejected line, in file order:
                <the line's bytes without its LF/CRLF (and without a dropped BOM)> TAB
                "line N: <reason>" LF
  reasons     = "empty line" | "expected C columns, got F"
                | "column X: required value is missing"
                | "column X: NUL byte at byte B of the value"
                | "column X: carriage return (CR) inside the line at byte B of the value"
                | "column X: control character U+00HH at byte B of the value"
                | "column X: invalid UTF-8 at byte B of the value"
                | "column X: unexpected byte-order mark (U+FEFF) at byte B of the value"
                | "column X: K characters, more than string(n) allows"
                | 'column X: "<value>" is not <type>[ (expected <layout>)][: <detail>]'
                | "duplicate key, superseded by line M"   (M: the line that was loaded)
                | "line is L bytes, longer than the maximum of M bytes"
  (B is 1-based within the field's value; a shown value is quoted with " and \\ escaped and
  cut after 40 characters with "..."; the first failing rule of the leftmost failing column is
  the one reported: count, then per column NUL/control, UTF-8, required, type, length.)

Each case also states its counts by hand; the script checks that they agree with the list of
expected errors (double entry), so a slip in either shows up here, not in the C test.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = []
BOM = b"\xef\xbb\xbf"


def b(x):
    return x if isinstance(x, bytes) else str(x).encode("utf-8")


def row(*fields):
    return b"\t".join(b(f) for f in fields)


def lf(*lines):
    """Lines joined and each terminated by LF."""
    return b"".join(line + b"\n" for line in lines)


# ---- one builder per table, with a valid default for every column --------------------------

def store(code="S001", name="渋谷店", pref="東京都", opened="20100401", closed="",
          area="350.5", deleted="0", out="20240101120000"):
    return row(code, name, pref, opened, closed, area, deleted, out)


def member(mid="M0000001", gender="F", birth="19800515", postal="150-0001", home="S001",
           joined="20150101", withdrawn="", points="1200", deleted="0", out="20240101120000"):
    return row(mid, gender, birth, postal, home, joined, withdrawn, points, deleted, out)


def item(code="4901234567894", name="おにぎり 鮭", kana="ｵﾆｷﾞﾘ ｻｹ", cat="C01",
         maker="山田食品", price="150.00", rate="8.00", start="20240101", end="",
         deleted="0", out="20240101120000"):
    return row(code, name, kana, cat, maker, price, rate, start, end, deleted, out)


def journal(store="S001", bdate="20240101", reg="1", rcpt="1001", lno="1",
            sold="20240101101500", mid="M0000001", icode="4901234567894",
            iname="おにぎり 鮭", cat="C01", qty="2", price="150.00", amount="300.00",
            discount="", tax="24.00", rate="8.00", pay="01", staff="E01", deleted="0",
            out="20240101120000"):
    return row(store, bdate, reg, rcpt, lno, sold, mid, icode, iname, cat, qty, price, amount,
               discount, tax, rate, pay, staff, deleted, out)


# ---- the case registry -----------------------------------------------------------------------

def case(name, data, errors, lines, loaded, invalid, duplicate, max_line=None):
    """errors: [(line_bytes, line_number, reason)] in file order."""
    table = name.split("-")[1]
    assert table in ("journal", "items", "members", "stores"), name
    ndup = sum(1 for e in errors if e[2].startswith("duplicate key, superseded by line "))
    assert len(errors) == invalid + duplicate, (name, "error entries != invalid + duplicate")
    assert ndup == duplicate, (name, "duplicate reasons != duplicate count")
    assert lines == loaded + invalid + duplicate, (name, "counts do not balance")
    numbers = [e[1] for e in errors]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), (name, numbers)
    assert all(0 < n <= lines for n in numbers), (name, "line number out of range")
    expected = b"".join(e[0] + b"\tline %d: " % e[1] + b(e[2]) + b"\n" for e in errors)
    CASES.append((name, data, expected,
                  {"lines": lines, "loaded": loaded, "rejected_invalid": invalid,
                   "rejected_duplicate": duplicate}, max_line))


def file_case(name, data, reason):
    """A file rejected as a whole: no line checked, one error line with no original bytes."""
    table = name.split("-")[1]
    assert table in ("journal", "items", "members", "stores"), name
    CASES.append((name, data, b"\tfile: " + b(reason) + b"\n",
                  {"lines": 0, "loaded": 0, "rejected_invalid": 0, "rejected_duplicate": 0},
                  None))


def bad_type(col, value, typ, detail=None, layout=None):
    """The reason for a value that fails its type's grammar."""
    shown = value if isinstance(value, str) else value.decode("utf-8")
    text = shown.replace("\\", "\\\\").replace('"', '\\"')
    r = 'column %s: "%s" is not %s' % (col, text, typ)
    if layout is not None:
        r += " (expected %s)" % layout
    if detail is not None:
        r += ": " + detail
    return r


D = "YYYYMMDD"
DT = "YYYYMMDDhhmmss"
NO_DATE = "no such date"
TIME = "time of day out of range"
LZ = "leading zero"
OVF = "out of range for int64"
SCALE = "too many digits after the point"
PREC = "too many digits before the point"


def missing(col):
    return "column %s: required value is missing" % col


def too_many_chars(col, k, n):
    return "column %s: %d characters, more than string(%d) allows" % (col, k, n)


def ncols(want, got):
    return "expected %d columns, got %d" % (want, got)


def utf8(col, at):
    return "column %s: invalid UTF-8 at byte %d of the value" % (col, at)


def ctrl(col, code, at):
    return "column %s: control character U+%04X at byte %d of the value" % (col, code, at)


def dup(m):
    return "duplicate key, superseded by line %d" % m


# ---- clean files ---------------------------------------------------------------------------

case("001-stores-clean",
     lf(store(),
        store(code="S002", name="新宿東口店", pref="", opened="", area="", out="20240101120001"),
        store(code="S003", name="大阪 梅田店", pref="大阪府", opened="20200229",
              closed="20231231", area="0.5", deleted="1")),
     [], 3, 3, 0, 0)

case("002-journal-clean",
     lf(journal(),
        # a return: negative quantity and amounts, all optional columns empty
        journal(lno="2", mid="", iname="", cat="", qty="-1", price="150.00", amount="-150.00",
                discount="", tax="-12.00", pay="", staff=""),
        # a logical delete, a discount, the largest values of each numeric type
        journal(reg="9223372036854775807", rcpt="-9223372036854775808", lno="0",
                qty="-0", price="9999999999.99", amount="999999999999.99",
                discount="-999999999999.99", tax="0", rate="99.99", deleted="1")),
     [], 3, 3, 0, 0)

case("003-items-clean",
     lf(item(),
        # a 14-digit JAN code is just a string; half-width katakana is kept as is
        item(code="04901234567894", name='"特選" 緑茶 500ml', kana="ﾄｸｾﾝ ﾘｮｸﾁｬ",
             cat="", maker="", price="", start="", end=""),
        # exactly 60 characters of a 3-byte character in string(60)
        item(code="ITEM-60", name="あ" * 60, kana="ｱ" * 60, maker="株" * 40, rate="10",
             start="00010101", end="99991231", deleted="1")),
     [], 3, 3, 0, 0)

case("004-members-clean",
     lf(member(),
        member(mid="M0000002", gender="", birth="", postal="", home="", withdrawn="",
               points="", out="20240102000000"),
        member(mid="M0000003", gender="男", birth="20000229", postal="〒1500001",
               withdrawn="20231231", points="-500", deleted="1")),
     [], 3, 3, 0, 0)

# ---- file shape: empty, BOM, line endings --------------------------------------------------

case("005-stores-empty-file", b"", [], 0, 0, 0, 0)

# A BOM and nothing else: the BOM is dropped and no line remains.
case("006-stores-bom-only", BOM, [], 0, 0, 0, 0)

# The BOM is dropped at the start; it is not part of line 1's bytes in the error file.
l1 = store(deleted="x")
case("007-stores-bom-start",
     BOM + lf(l1, store(code="S002")),
     [(l1, 1, bad_type("is_deleted", "x", "bool"))], 2, 1, 1, 0)

case("008-stores-bom-then-empty-line",
     BOM + lf(b"", store()),
     [(b"", 1, "empty line")], 2, 1, 1, 0)

# Only the first BOM is dropped; a second one is data in column 1 of line 1.
l1 = BOM + store()
case("009-stores-bom-twice",
     BOM + lf(l1, store(code="S002")),
     [(l1, 1, "column store_code: unexpected byte-order mark (U+FEFF) at byte 1 of the value")],
     2, 1, 1, 0)

# U+FEFF anywhere else is a rejected line: mid value, at the start of a later line, in a
# datetime (text checks come before the type).
l2 = store(code="S002", name="渋谷" + "\ufeff" + "店")
l3 = BOM + store(code="S003")
l4 = store(code="S004", out=b"20240101" + BOM + b"120000")
case("010-stores-bom-mid-file",
     lf(store(), l2, l3, l4),
     [(l2, 2, "column store_name: unexpected byte-order mark (U+FEFF) at byte 7 of the value"),
      (l3, 3, "column store_code: unexpected byte-order mark (U+FEFF) at byte 1 of the value"),
      (l4, 4, "column output_at: unexpected byte-order mark (U+FEFF) at byte 9 of the value")],
     4, 1, 3, 0)

# CRLF lines: the CR is part of the line ending, not of the line's bytes.
l2 = store(code="S002", area="1.25")
case("011-stores-crlf",
     store() + b"\r\n" + l2 + b"\r\n" + store(code="S003") + b"\r\n",
     [(l2, 2, bad_type("floor_area", "1.25", "numeric(8,1)", SCALE))], 3, 2, 1, 0)

# LF and CRLF mixed freely, an invalid line with each ending, the last line without a newline.
l2 = store(code="S002", opened="2020-04-01")
l3 = store(code="S003", closed="20200431")
l5 = store(code="S005", deleted="")
case("012-stores-mixed-endings",
     store() + b"\n" + l2 + b"\r\n" + l3 + b"\n" + store(code="S004") + b"\r\n" + l5,
     [(l2, 2, bad_type("opened_on", "2020-04-01", "date", layout=D)),
      (l3, 3, bad_type("closed_on", "20200431", "date", NO_DATE)),
      (l5, 5, missing("is_deleted"))], 5, 2, 3, 0)

case("013-stores-no-final-newline",
     store() + b"\n" + store(code="S002"),
     [], 2, 2, 0, 0)

l2 = store(code="S002", out="2024010112000")
case("014-stores-no-final-newline-invalid",
     store() + b"\n" + l2,
     [(l2, 2, bad_type("output_at", "2024010112000", "datetime", layout=DT))], 2, 1, 1, 0)

# CR-only line endings are not line endings: the whole file is one line whose CRs join the
# last field of one record to the first of the next (3 records x 7 TABs = 21 TABs -> 22 fields).
whole = store() + b"\r" + store(code="S002") + b"\r" + store(code="S003") + b"\r"
case("015-stores-cr-only-endings", whole, [(whole, 1, ncols(8, 22))], 1, 0, 1, 0)

# One record ended by a lone CR at the end of the file: the CR stays in the last value.
l1 = store() + b"\r"
case("016-stores-lone-cr-at-eof", l1,
     [(l1, 1, "column output_at: carriage return (CR) inside the line at byte 15 of the value")],
     1, 0, 1, 0)

# Empty lines are rejected lines: LF-only, CRLF-only, and the one a trailing extra LF makes.
case("017-stores-empty-lines",
     store() + b"\n\n" + store(code="S002") + b"\n\r\n" + store(code="S003") + b"\n\n",
     [(b"", 2, "empty line"), (b"", 4, "empty line"), (b"", 6, "empty line")],
     6, 3, 3, 0)

case("018-stores-only-newlines", b"\n\r\n\n",
     [(b"", 1, "empty line"), (b"", 2, "empty line"), (b"", 3, "empty line")], 3, 0, 3, 0)

# Lines that look empty but are not: a space, a TAB, eight empty fields, a lone CR before CRLF.
eight_empty = b"\t" * 7
case("019-stores-blank-looking-lines",
     lf(b" ", b"\t", eight_empty) + b"\r\r\n" + lf(store()),
     [(b" ", 1, ncols(8, 1)), (b"\t", 2, ncols(8, 2)),
      (eight_empty, 3, missing("store_code")), (b"\r", 4, ncols(8, 1))], 5, 1, 4, 0)

# ---- column count ------------------------------------------------------------------------------

full = store(code="S009")
fields = full.split(b"\t")
seven = b"\t".join(fields[:7])
nine = full + b"\tEXTRA"
trailing = full + b"\t"
two_rows = full + b"\t" + store(code="S010")
case("020-stores-column-count",
     lf(seven, store(), nine, trailing, two_rows, b"S001", b"\t" + full),
     [(seven, 1, ncols(8, 7)), (nine, 3, ncols(8, 9)), (trailing, 4, ncols(8, 9)),
      (two_rows, 5, ncols(8, 16)), (b"S001", 6, ncols(8, 1)), (b"\t" + full, 7, ncols(8, 9))],
     7, 1, 6, 0)

full = journal()
j19 = b"\t".join(full.split(b"\t")[:19])
j21 = full + b"\t0"
jtrail = full + b"\t"
case("021-journal-column-count",
     lf(j19, full, j21, jtrail),
     [(j19, 1, ncols(20, 19)), (j21, 3, ncols(20, 21)), (jtrail, 4, ncols(20, 21))],
     4, 1, 3, 0)

# ---- control characters and NUL ------------------------------------------------------------

l1 = store(name=b"ab\x00cd")
l2 = b"\x00" + store(code="S002")
l3 = store(code="S003", area=b"35\x000")
l4 = store(code="S004", pref=b"\x00")  # a NUL is data, not NULL
case("022-stores-nul-byte",
     lf(l1, l2, l3, l4, store(code="S005")),
     [(l1, 1, "column store_name: NUL byte at byte 3 of the value"),
      (l2, 2, "column store_code: NUL byte at byte 1 of the value"),
      (l3, 3, "column floor_area: NUL byte at byte 3 of the value"),
      (l4, 4, "column prefecture: NUL byte at byte 1 of the value")], 5, 1, 4, 0)

l1 = store(name=b"\x1b[31m\xe6\xb8\x8b\xe8\xb0\xb7")  # ESC then "渋谷"
l2 = store(code="S002", name=b"shop\x7f")
l3 = store(code="S003", pref=b"\x01")
l4 = store(code=b"S0\x0c04")
l5 = store(code="S005", name="渋谷\r店")
l6 = store(code="S006", deleted=b"\x1b1")  # control beats the bool grammar
l7 = store(code="S007", name=b"a\x0bb\x1fc")  # the first control byte is reported
# C1 controls (U+0085) and U+2028 are not in STANDARD-FORMAT.md's control set: accepted.
l8 = store(code="S008", name="next\u0085line\u2028sep")
case("023-stores-control-chars",
     lf(l1, l2, l3, l4, l5, l6, l7, l8),
     [(l1, 1, ctrl("store_name", 0x1B, 1)),
      (l2, 2, ctrl("store_name", 0x7F, 5)),
      (l3, 3, ctrl("prefecture", 0x01, 1)),
      (l4, 4, ctrl("store_code", 0x0C, 3)),
      (l5, 5, "column store_name: carriage return (CR) inside the line at byte 7 of the value"),
      (l6, 6, ctrl("is_deleted", 0x1B, 1)),
      (l7, 7, ctrl("store_name", 0x0B, 2))], 8, 1, 7, 0)

# ---- invalid UTF-8 -------------------------------------------------------------------------

bad = [
    (b"\xc3\x28", 1),                         # C3 then '(': not a continuation
    (b"ab\xc0\xaf", 3),                       # overlong '/' in 2 bytes
    (b"\xe0\x80\xaf", 1),                     # overlong '/' in 3 bytes
    (b"x\xf0\x80\x80\xaf", 2),                # overlong '/' in 4 bytes
    (b"\xed\xa0\x80", 1),                     # surrogate U+D800
    (b"\xe6\xb8\x8b\xf4\x90\x80\x80", 4),     # "渋" then U+110000
    (b"\xf5\x80\x80\x80", 1),                 # F5 never occurs
    (b"\xff", 1),
    (b"shop\x80", 5),                         # a lone continuation byte
    (b"\xe6\xb8\x8b\xe8\xb0", 4),             # "渋" then a truncated 3-byte character
    (b"\x8f\x61\x92\x4a\x93\x58", 1),         # "渋谷店" in Shift_JIS
    (b"caf\xe9", 4),                          # Latin-1 e-acute
]
lines = [store(code="S%03d" % (i + 1), name=v) for i, (v, _) in enumerate(bad)]
case("024-stores-invalid-utf8",
     lf(*lines),
     [(lines[i], i + 1, utf8("store_name", at)) for i, (_, at) in enumerate(bad)],
     len(bad), 0, len(bad), 0)

# Invalid bytes in typed columns are reported as UTF-8 problems (text checks come first), and
# a character cut off by the end of the file is truncated, not waited for.
l1 = store(area=b"1\xff")
l2 = store(code="S002", out=b"20240101120000\xe3\x81")
case("025-stores-invalid-utf8-typed-and-at-eof",
     l1 + b"\n" + l2,
     [(l1, 1, utf8("floor_area", 2)), (l2, 2, utf8("output_at", 15))], 2, 0, 2, 0)

# ---- string lengths count characters, not bytes ----------------------------------------------

ten_kanji = "店舗コード一二三四五"
assert len(ten_kanji) == 10
rows = [
    (store(code="ABCDEFGHIJ"), None),
    (store(code="ABCDEFGHIJK"), too_many_chars("store_code", 11, 10)),
    (store(code=ten_kanji), None),                                   # 10 chars, 30 bytes
    (store(code=ten_kanji + "六"), too_many_chars("store_code", 11, 10)),
    (store(code="S005", name="あ" * 40), None),                       # 40 chars, 120 bytes
    (store(code="S006", name="あ" * 41), too_many_chars("store_name", 41, 40)),
    (store(code="S007", pref="神奈川県"), None),
    (store(code="S008", pref="和歌山県庁"), too_many_chars("prefecture", 5, 4)),
    (store(code="S009", pref="\U0001F600" * 4), None),               # 4-byte characters
    (store(code="S010", pref="\U0001F600" * 5), too_many_chars("prefecture", 5, 4)),
    (store(code="S011", pref="ｶﾅｶﾞﾜ"), too_many_chars("prefecture", 5, 4)),  # ｶﾞ is 2
]
case("026-stores-string-length",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 5, 6, 0)

rows = [
    (member(gender="男"), None),
    (member(mid="M0000002", gender="MF"), too_many_chars("gender", 2, 1)),
    # "が" written as か + combining voiced mark is two code points
    (member(mid="M0000003", gender="か\u3099"), too_many_chars("gender", 2, 1)),
    (member(mid="M0000004", postal="150-0001"), None),
    (member(mid="M0000005", postal="150-00011"), too_many_chars("postal_code", 9, 8)),
    (member(mid="M" * 20), None),
    (member(mid="M" * 21), too_many_chars("member_id", 21, 20)),
]
case("027-members-string-length",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 3, 4, 0)

# ---- required and NULL -----------------------------------------------------------------------

rows = [
    (store(code=""), missing("store_code")),
    (store(code="S002", name=""), missing("store_name")),
    (store(code="S003", deleted=""), missing("is_deleted")),
    (store(code="S004", out=""), missing("output_at")),
    (store(code="S005", pref="", opened="", closed="", area=""), None),  # NULLs
    (row("", "", "", "", "", "", "", ""), missing("store_code")),
]
case("028-stores-required-and-null",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 1, 5, 0)

rows = [
    (journal(bdate=""), missing("business_date")),
    (journal(lno="2", qty=""), missing("quantity")),
    (journal(lno="3", price=""), missing("unit_price")),
    (journal(lno="4", rate=""), missing("tax_rate")),
    (journal(lno="5", icode=""), missing("item_code")),
    (journal(lno="6", mid="", iname="", cat="", discount="", pay="", staff=""), None),
]
case("029-journal-required-and-null",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 1, 5, 0)

# ---- int64 -------------------------------------------------------------------------------------

forty_one = "1" * 41
values = [
    ("9223372036854775807", None),
    ("-9223372036854775808", None),
    ("9223372036854775808", OVF),
    ("-9223372036854775809", OVF),
    ("0", None),
    ("-0", None),
    ("", None),  # NULL: points is optional
    ("00", LZ),
    ("007", LZ),
    ("-01", LZ),
    ("+1", "syntax"),
    (" 1", "syntax"),
    ("1 ", "syntax"),
    ("1e3", "syntax"),
    ("0x1F", "syntax"),
    ("1,000", "syntax"),
    ("1_000", "syntax"),
    ("-", "syntax"),
    ("１２", "syntax"),  # full-width digits
    ("1.0", "syntax"),
    ('"1"', "syntax"),
    ("NULL", "syntax"),
    (forty_one, OVF),
]
rows, errs = [], []
for i, (v, why) in enumerate(values):
    r = member(mid="M%07d" % (i + 1), points=v)
    rows.append(r)
    if why is not None:
        shown = v if len(v) <= 40 else v[:40] + "..."
        # the value is cut after 40 characters with "..." (bad_type escapes, so build here)
        reason = 'column points: "%s" is not int64' % shown.replace('"', '\\"')
        if why != "syntax":
            reason += ": " + why
        errs.append((r, i + 1, reason))
case("030-members-int64", lf(*rows), errs, len(rows), len(rows) - len(errs), len(errs), 0)

# int64 key columns: limits, defects, and -0 == 0 as a key (keys are typed values).
l1 = journal(reg="9223372036854775807", lno="1")
l2 = journal(rcpt="9223372036854775808", lno="2")
l3 = journal(lno="01")
l4 = journal(lno="0", out="20240101120000")
l5 = journal(lno="-0", out="20240101120001")
l6 = journal(reg=" 1", lno="6")
l7 = journal(qty="-3", lno="7")
case("031-journal-int64-keys",
     lf(l1, l2, l3, l4, l5, l6, l7),
     [(l2, 2, bad_type("receipt_no", "9223372036854775808", "int64", OVF)),
      (l3, 3, bad_type("line_no", "01", "int64", LZ)),
      (l4, 4, dup(5)),
      (l6, 6, bad_type("register_no", " 1", "int64"))], 7, 3, 3, 1)

# ---- numeric -----------------------------------------------------------------------------------

fifty = "1" * 50
rows = [
    (journal(lno="1", price="150."), bad_type("unit_price", "150.", "numeric(12,2)")),
    (journal(lno="2", price=".5"), bad_type("unit_price", ".5", "numeric(12,2)")),
    (journal(lno="3", price="-0.00", amount="-0.00", tax="-0.00"), None),
    (journal(lno="4", amount="12a"), bad_type("amount", "12a", "numeric(14,2)")),
    (journal(lno="5", rate="10.000"), bad_type("tax_rate", "10.000", "numeric(4,2)", SCALE)),
    (journal(lno="6", rate="100"), bad_type("tax_rate", "100", "numeric(4,2)", PREC)),
    (journal(lno="7", amount="1234567890123.00"),
     bad_type("amount", "1234567890123.00", "numeric(14,2)", PREC)),
    (journal(lno="8", amount="-999999999999.99"), None),
    (journal(lno="9", discount="-50.00"), None),
    (journal(lno="10", price="1e3"), bad_type("unit_price", "1e3", "numeric(12,2)")),
    (journal(lno="11", price="1,000.00"), bad_type("unit_price", "1,000.00", "numeric(12,2)")),
    (journal(lno="12", amount='"300"'), bad_type("amount", '"300"', "numeric(14,2)")),
    (journal(lno="13", price="+150"), bad_type("unit_price", "+150", "numeric(12,2)")),
    (journal(lno="14", amount=fifty),
     'column amount: "%s..." is not numeric(14,2): %s' % (fifty[:40], PREC)),
    (journal(lno="15", discount="1.5.0"), bad_type("discount", "1.5.0", "numeric(14,2)")),
    (journal(lno="16", tax="NaN"), bad_type("tax", "NaN", "numeric(14,2)")),
    (journal(lno="17", price="12.345"), bad_type("unit_price", "12.345", "numeric(12,2)", SCALE)),
]
case("032-journal-numeric",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 3, 14, 0)

rows = [
    (store(code="S001", area="1234567.8"), None),
    (store(code="S002", area="12345678"), bad_type("floor_area", "12345678", "numeric(8,1)", PREC)),
    (store(code="S003", area="0.05"), bad_type("floor_area", "0.05", "numeric(8,1)", SCALE)),
    (store(code="S004", area="-0.0"), None),
    (store(code="S005", area="1."), bad_type("floor_area", "1.", "numeric(8,1)")),
    (store(code="S006", area=".5"), bad_type("floor_area", ".5", "numeric(8,1)")),
    (store(code="S007", area="-"), bad_type("floor_area", "-", "numeric(8,1)")),
    (store(code="S008", area="１.５"), bad_type("floor_area", "１.５", "numeric(8,1)")),
    (store(code="S009", area="Infinity"), bad_type("floor_area", "Infinity", "numeric(8,1)")),
    (store(code="S010", area="0350.5"), None),  # leading zeros count as digits: 4 <= 7
    (store(code="S011", area="00000000.5"), bad_type("floor_area", "00000000.5", "numeric(8,1)",
                                                     PREC)),
]
case("033-stores-numeric",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 3, 8, 0)

# ---- bool --------------------------------------------------------------------------------------

rows = [
    (item(code="I1", deleted="1"), None),
    (item(code="I2", deleted="0"), None),
    (item(code="I3", deleted="2"), bad_type("is_deleted", "2", "bool")),
    (item(code="I4", deleted="true"), bad_type("is_deleted", "true", "bool")),
    (item(code="I5", deleted="00"), bad_type("is_deleted", "00", "bool")),
    (item(code="I6", deleted="-1"), bad_type("is_deleted", "-1", "bool")),
    (item(code="I7", deleted=" 1"), bad_type("is_deleted", " 1", "bool")),
    (item(code="I8", deleted=""), missing("is_deleted")),
    (item(code="I9", price="", rate="8"), None),
    (item(code="I10", rate=""), missing("tax_rate")),
]
case("034-items-bool",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 3, 7, 0)

# ---- dates -------------------------------------------------------------------------------------

dates = [
    ("20200229", None),
    ("20210229", NO_DATE),
    ("20200230", NO_DATE),
    ("00010101", None),
    ("00000101", NO_DATE),
    ("99991231", None),
    ("20201301", NO_DATE),
    ("20200001", NO_DATE),
    ("20200100", NO_DATE),
    ("20200132", NO_DATE),
    ("19000229", NO_DATE),
    ("20000229", None),
    ("2020-02-29", "syntax"),
    ("2020022", "syntax"),
    ("120200229", "syntax"),  # a five-digit year
    ("20200229 ", "syntax"),
    ("２０２００２２９", "syntax"),
]
rows, errs = [], []
for i, (v, why) in enumerate(dates):
    r = store(code="S%03d" % (i + 1), opened=v)
    rows.append(r)
    if why == "syntax":
        errs.append((r, i + 1, bad_type("opened_on", v, "date", layout=D)))
    elif why is not None:
        errs.append((r, i + 1, bad_type("opened_on", v, "date", why)))
case("035-stores-dates", lf(*rows), errs, len(rows), len(rows) - len(errs), len(errs), 0)

rows = [
    (member(joined="20240431"), bad_type("joined_on", "20240431", "date", NO_DATE)),
    (member(mid="M2", birth="19991232"), bad_type("birth_date", "19991232", "date", NO_DATE)),
    (member(mid="M3", withdrawn="2024/01/01"),
     bad_type("withdrawn_on", "2024/01/01", "date", layout=D)),
    (member(mid="M4", joined=""), missing("joined_on")),
    (member(mid="M5", birth="", withdrawn=""), None),
    (member(mid="M6", joined="20240101000000"),
     bad_type("joined_on", "20240101000000", "date", layout=D)),
]
case("036-members-dates",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 1, 5, 0)

# ---- datetimes ---------------------------------------------------------------------------------

stamps = [
    ("20240101235959", None),
    ("20240101240000", TIME),
    ("20240101236000", TIME),
    ("20240101235960", TIME),
    ("20240101250000", TIME),
    ("20210229120000", NO_DATE),
    ("00000101000000", NO_DATE),
    ("00010101000000", None),
    ("99991231235959", None),
    ("20240101T120000", "syntax"),
    ("2024-01-01 12:00:00", "syntax"),
    ("20240101120000Z", "syntax"),
    ("20240101120000+0900", "syntax"),
    ("202401011200", "syntax"),
    ("20240101", "syntax"),
]
rows, errs = [], []
for i, (v, why) in enumerate(stamps):
    r = store(code="S%03d" % (i + 1), out=v)
    rows.append(r)
    if why == "syntax":
        errs.append((r, i + 1, bad_type("output_at", v, "datetime", layout=DT)))
    elif why is not None:
        errs.append((r, i + 1, bad_type("output_at", v, "datetime", why)))
case("037-stores-datetimes", lf(*rows), errs, len(rows), len(rows) - len(errs), len(errs), 0)

rows = [
    (journal(lno="1", sold="20240101250000"),
     bad_type("sold_at", "20240101250000", "datetime", TIME)),
    (journal(lno="2", sold="202401011015"),
     bad_type("sold_at", "202401011015", "datetime", layout=DT)),
    (journal(lno="3", bdate="20240230"), bad_type("business_date", "20240230", "date", NO_DATE)),
    (journal(lno="4", sold="20240101000000", out="20240101235959"), None),
]
case("038-journal-dates-and-datetimes",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 1, 3, 0)

# ---- quoting is not a thing --------------------------------------------------------------------

rows = [
    (store(code="S001", name='"渋谷店"'), None),   # quotes are literal characters in a string
    (store(code="S002", name="a\\tb"), None),       # so is a backslash
    (store(code="S003", area='"350.5"'), bad_type("floor_area", '"350.5"', "numeric(8,1)")),
    (store(code="S004", out='"20240101120000"'),
     bad_type("output_at", '"20240101120000"', "datetime", layout=DT)),
    (store(code="S005", area="3\\5"), bad_type("floor_area", "3\\5", "numeric(8,1)")),
    (store(code='"S006"'), None),  # 6 characters, fine in string(10)
]
case("039-stores-double-quotes",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 3, 3, 0)

# ---- half-width katakana -----------------------------------------------------------------------

rows = [
    (item(code="K1", kana="ｵﾆｷﾞﾘ"), None),
    (item(code="K2", kana="ｱ" * 60), None),                     # 60 chars, 180 bytes
    (item(code="K3", kana="ｱ" * 61), too_many_chars("item_name_kana", 61, 60)),
    (item(code="K4", name="ﾊﾟﾝ", kana="ﾊﾟﾝ"), None),
    (item(code="K5", cat="ｶﾃｺﾞﾘ123456"), too_many_chars("category_code", 11, 10)),  # ｺﾞ is 2
]
case("040-items-half-width-katakana",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 3, 2, 0)

case("041-journal-negative-values",
     lf(journal(qty="-2", amount="-300.00", discount="-10.00", tax="-24.00"),
        journal(lno="2", qty="-9223372036854775808", price="-150.00", amount="-0.01")),
     [], 2, 2, 0, 0)

# ---- duplicates ----------------------------------------------------------------------------------

a = store(out="20240101120000")
b2 = store(name="渋谷新店", out="20240101130000")
case("042-stores-duplicate-newer-later", lf(a, b2), [(a, 1, dup(2))], 2, 1, 0, 1)

a = store(out="20240101130000")
b2 = store(name="渋谷旧店", out="20240101120000")
case("043-stores-duplicate-newer-earlier", lf(a, b2), [(b2, 2, dup(1))], 2, 1, 0, 1)

# Exact output_at tie: the later line wins, whatever lies between them.
a = store(name="first")
o = store(code="S002")
b2 = store(name="second")
case("044-stores-duplicate-tie", lf(a, o, b2), [(a, 1, dup(3))], 3, 2, 0, 1)

# Three lines of one key: both losers name the line that was finally loaded.
k1 = store(out="20240101120002")
k3 = store(out="20240101120003")
k5 = store(out="20240101120001")
t1 = store(code="T1", name="x")
t2 = store(code="T1", name="y")
t3 = store(code="T1", name="z")
case("045-stores-duplicate-three-way",
     lf(k1, store(code="S002"), k3, store(code="S003"), k5, t1, t2, t3),
     [(k1, 1, dup(3)), (k5, 5, dup(3)), (t1, 6, dup(8)), (t2, 7, dup(8))], 8, 4, 0, 4)

# Composite key: only all five key columns together make a duplicate.
j1 = journal(out="20240101120000")
j2 = journal(lno="2")
j3 = journal(bdate="20240102")
j4 = journal(store="S002")
j5 = journal(reg="2")
j6 = journal(rcpt="1002")
j7 = journal(qty="5", amount="750.00", out="20240101120000")  # same key as j1, tie: later wins
j8 = journal(lno="2", qty="1", out="20240101110000")          # older than j2
case("046-journal-duplicates",
     lf(j1, j2, j3, j4, j5, j6, j7, j8),
     [(j1, 1, dup(7)), (j8, 8, dup(2))], 8, 6, 0, 2)

# A newer logical delete wins like any row; an older one loses.
i1 = item(out="20240101120000")
i2 = item(deleted="1", out="20240102120000")
i3 = item(code="X1", deleted="1", out="20240101000000")
i4 = item(code="X1", out="20240101000001")
case("047-items-duplicates",
     lf(i1, i2, i3, i4),
     [(i1, 1, dup(2)), (i3, 3, dup(4))], 4, 2, 0, 2)

# An invalid line never takes part in dedup, even when it is the newest of its key.
m1 = member(out="20240101120000")
m2 = member(points="01", out="20240301120000")
m3 = member(out="20240201120000")
m4 = member(out="20240101110000")
case("048-members-duplicates-with-invalid",
     lf(m1, m2, m3, m4),
     [(m1, 1, dup(3)), (m2, 2, bad_type("points", "01", "int64", LZ)), (m4, 4, dup(3))],
     4, 1, 1, 2)

# String keys are compared as bytes: no trimming, case folding or width folding.
keys = ["S001", "S001 ", " S001", "s001", "Ｓ００１", "S001\u3000"]
rows = [store(code=k) for k in keys]
last = store(out="20240101120001")
case("049-stores-string-keys-exact",
     lf(*(rows + [last])),
     [(rows[0], 1, dup(7))], 7, 6, 0, 1)

# Invalid lines and duplicates interleave in file order; a CRLF duplicate loses its CR.
a = store(out="20240101120000")
bad1 = store(code="S002", deleted="9")
c = store(code="S003", out="20240101120000")
d = store(out="20240101120001")
bad2 = store(code="S004", area="x")
e = store(code="S003", out="20240101110000")
case("050-stores-duplicates-mixed",
     a + b"\r\n" + bad1 + b"\n" + c + b"\r\n" + d + b"\r\n" + bad2 + b"\n" + e + b"\r\n",
     [(a, 1, dup(4)), (bad1, 2, bad_type("is_deleted", "9", "bool")),
      (bad2, 5, bad_type("floor_area", "x", "numeric(8,1)")), (e, 6, dup(3))], 6, 2, 2, 2)

# The extremes of output_at order correctly.
a = store(out="99991231235959")
b2 = store(out="00010101000000")
c = store(code="S002", out="00010101000000")
d = store(code="S002", out="00010101000001")
case("051-stores-duplicate-extreme-output-at",
     lf(a, b2, c, d),
     [(b2, 2, dup(1)), (c, 3, dup(4))], 4, 2, 0, 2)

# With a BOM, line 1 can be a duplicate loser; its bytes exclude the BOM.
a = store(out="20240101120000")
b2 = store(out="20240101120001")
case("052-stores-bom-duplicate-line-1",
     BOM + lf(a, b2),
     [(a, 1, dup(2))], 2, 1, 0, 1)

# ---- rule order: one reason per line, the first failing check -----------------------------

l1 = store(code="S0000000011", out="bad")              # leftmost failing column wins
l2 = b"\t".join(store(code="S002", name=b"\xc3\x28").split(b"\t")[:7])  # count before UTF-8
l3 = store(code="S003", name=b"\xc3\x28\x1b")          # control before UTF-8, same field
l4 = store(code="S004", pref="ああああああ", opened="x")  # column 3 before column 4
l5 = store(code="S005", opened=b"\x00", area="x")
case("053-stores-rule-order",
     lf(l1, l2, l3, l4, l5),
     [(l1, 1, too_many_chars("store_code", 11, 10)),
      (l2, 2, ncols(8, 7)),
      (l3, 3, ctrl("store_name", 0x1B, 3)),
      (l4, 4, too_many_chars("prefecture", 6, 4)),
      (l5, 5, "column opened_on: NUL byte at byte 1 of the value")], 5, 0, 5, 0)

# ---- how values are shown in reasons ---------------------------------------------------------

v40 = "あ" * 40
v41 = "い" * 41
v_ascii = "x" * 45
case("054-stores-value-display",
     lf(store(opened=v40), store(code="S002", opened=v41), store(code="S003", area=v_ascii),
        store(code="S004", closed='a"b\\c')),
     [(store(opened=v40), 1, 'column opened_on: "%s" is not date (expected YYYYMMDD)' % v40),
      (store(code="S002", opened=v41), 2,
       'column opened_on: "%s..." is not date (expected YYYYMMDD)' % v41[:40]),
      (store(code="S003", area=v_ascii), 3,
       'column floor_area: "%s..." is not numeric(8,1)' % v_ascii[:40]),
      (store(code="S004", closed='a"b\\c'), 4,
       'column closed_on: "a\\"b\\\\c" is not date (expected YYYYMMDD)')], 4, 0, 4, 0)

# ---- C.4: things that look special but are just data ----------------------------------------

# No header line. A first line that is exactly the column names rejects the file as a whole
# (lib/tsv/feed_sniff.h: one reason, no line checked); one that only partly is, is data - here
# rejected by its prefecture length.
header = row("store_code", "store_name", "prefecture", "opened_on", "closed_on", "floor_area",
             "is_deleted", "output_at")
file_case("055-stores-header-line-rejects-the-file", lf(header, store()),
          "line 1 is a header line (the 8 column names); the format has none: remove the first "
          "line before sending, or set the site's header to first_line")
partial = row("store_code", "store_name", "prefecture", "opened", "closed", "area", "deleted",
              "output")
case("065-stores-header-like-line-is-data",
     lf(partial, store()),
     [(partial, 1, too_many_chars("prefecture", 10, 4))], 2, 1, 1, 0)

# The other shapes a file cannot be in, each its one reason.
file_case("066-stores-utf16", "\ufeff".encode("utf-16-le") + lf(store(), store()).decode()
          .encode("utf-16-le"),
          "the file is UTF-16 (it starts with a UTF-16 byte-order mark), not UTF-8: save it as "
          "UTF-8, or convert it with iconv -f UTF-16 -t UTF-8")
file_case("067-stores-cp932", lf(store(), store(code="S002", name="髙島屋①")).decode()
          .encode("cp932"),
          "the file is not UTF-8: its bytes read as Shift_JIS/CP932 (as Japanese Windows saves "
          "text): convert it with iconv -f CP932 -t UTF-8 (SHIFT_JIS lacks characters CP932 "
          "has), or set the site's encoding to cp932")
file_case("068-stores-csv", lf(store().replace(b"\t", b","), store(code="S002")
                                .replace(b"\t", b",")),
          "no line has a TAB and each has 7 commas: the file looks like CSV; the format is "
          "TAB-separated, without quoting (8 columns)")
quoted = row(*(b'"' + f + b'"' for f in store().split(b"\t") if f))
file_case("069-stores-all-quoted", lf(quoted, quoted),
          "every value in the first 2 lines is wrapped in double quotes: the format has no "
          "quoting (the quotes would be loaded as data); export without quotes")

# NULL markers are not special: only an empty field is NULL.
rows = [
    (store(code="S001", pref="NULL"), None),  # "NULL" fits string(4)
    (store(code="S002", name="NULL", pref="\\N"), None),
    (store(code="S003", area="NULL"), bad_type("floor_area", "NULL", "numeric(8,1)")),
    (store(code="S004", opened="\\N"), bad_type("opened_on", "\\N", "date", layout=D)),
]
case("056-stores-null-markers-are-data",
     lf(*[r for r, _ in rows]),
     [(r, i + 1, why) for i, (r, why) in enumerate(rows) if why],
     len(rows), 2, 2, 0)

# Two bytes of a BOM are not a BOM: EF BB then 'S' is a broken 3-byte sequence in line 1.
l1 = b"\xef\xbb" + store()
case("057-stores-partial-bom-at-start",
     lf(l1, store(code="S002")),
     [(l1, 1, utf8("store_code", 1))], 2, 1, 1, 0)

# A CR before the CRLF stays in the line: it is data in the last value.
l1 = store() + b"\r"
case("058-stores-cr-cr-lf",
     l1 + b"\r\n" + store(code="S002") + b"\r\n",
     [(l1, 1, "column output_at: carriage return (CR) inside the line at byte 15 of the value")],
     2, 1, 1, 0)

# ---- maximum line length (max_line_bytes = 100) ----------------------------------------------

def store_of_len(n, code, **kw):
    """A valid stores line of exactly n bytes: store_name padded with k 3-byte characters and
    ASCII, at most 40 characters in all."""
    base = store(code=code, name="", **kw)
    pad = n - len(base)
    k = max(0, (pad - 40 + 1) // 2)
    assert pad >= 1 and k + (pad - 3 * k) <= 40 and pad - 3 * k >= 0, pad
    line = store(code=code, name="の" * k + "n" * (pad - 3 * k), **kw)
    assert len(line) == n
    return line


ok100 = store_of_len(100, "S001", area="1.5")
long101 = store_of_len(101, "S002", area="12.5")
huge = store(code="S003", name="あ" * 1700)       # about 5100 bytes: many 7-byte shards
crlf_long = store(code="S004", name="x" * 300)     # CRLF-ended; its length excludes the CR
newer_same_key = store_of_len(101, "S001", out="20250101000000")  # too long: not in dedup
last_long = store(code="S005", name="z" * 200)     # the last line, no newline
assert len(huge) > 5000
case("059-stores-max-line-bytes",
     lf(ok100, long101, huge) + crlf_long + b"\r\n" + lf(store(code="S006"), newer_same_key)
     + last_long,
     [(long101, 2, "line is 101 bytes, longer than the maximum of 100 bytes"),
      (huge, 3, "line is %d bytes, longer than the maximum of 100 bytes" % len(huge)),
      (crlf_long, 4, "line is %d bytes, longer than the maximum of 100 bytes" % len(crlf_long)),
      (newer_same_key, 6, "line is 101 bytes, longer than the maximum of 100 bytes"),
      (last_long, 7, "line is %d bytes, longer than the maximum of 100 bytes" % len(last_long))],
     7, 2, 5, 0, max_line=100)

# The BOM does not count towards line 1's length, and is not in its bytes.
ok100 = store_of_len(100, "S001")
long101 = store_of_len(101, "S002")
case("060-stores-max-line-bytes-bom",
     BOM + lf(ok100, long101),
     [(long101, 2, "line is 101 bytes, longer than the maximum of 100 bytes")], 2, 1, 1, 0,
     max_line=100)

long_first = store_of_len(101, "S001")
case("061-stores-max-line-bytes-bom-line-1",
     BOM + lf(long_first, store(code="S002")),
     [(long_first, 1, "line is 101 bytes, longer than the maximum of 100 bytes")], 2, 1, 1, 0,
     max_line=100)

# A lone CR is the whole file: one line, one field.
case("062-stores-single-cr", b"\r", [(b"\r", 1, ncols(8, 1))], 1, 0, 1, 0)

# Thirty lines, ten keys three times each, so that every shard size splits the copies of a key
# across shards differently. For line_no k the copies are lines k, 10+k and 20+k with
# output_at seconds (1,2,3) when k%3==0 (the last wins), (3,2,1) when k%3==1 (the first wins)
# and (2,3,2) when k%3==2 (the middle one wins). CRLF on even lines, no final newline.
pattern = {0: (1, 2, 3), 1: (3, 2, 1), 2: (2, 3, 2)}
winner_pos = {0: 2, 1: 0, 2: 1}
rows, errs = [], []
for copy in range(3):
    for k in range(1, 11):
        rows.append(journal(lno=str(k), qty=str(copy + 1),
                            out="202401011200%02d" % pattern[k % 3][copy]))
for k in range(1, 11):
    win = k + 10 * winner_pos[k % 3]
    for copy in range(3):
        n = k + 10 * copy
        if n != win:
            errs.append((rows[n - 1], n, dup(win)))
errs.sort(key=lambda e: e[1])
data = b"".join(r + (b"\r\n" if (i + 1) % 2 == 0 else b"\n") for i, r in enumerate(rows[:-1]))
data += rows[-1]
case("063-journal-many-duplicates-across-shards", data, errs, 30, 10, 0, 20)

# Duplicates of exactly max_line_bytes: the loser is fetched again for the error file, CRLF
# and all, and written without its CR; a last line of exactly 100 bytes needs no newline.
a = store_of_len(100, "S001", out="20240101120000")
b2 = store_of_len(100, "S001", out="20240101120001")
c = store_of_len(100, "S002", out="20240101120001")
d = store_of_len(100, "S002", out="20240101120000")
case("064-stores-max-line-bytes-duplicates",
     a + b"\r\n" + b2 + b"\r\n" + c + b"\r\n" + d,
     [(a, 1, dup(2)), (d, 4, dup(3))], 4, 2, 0, 2, max_line=100)


def main():
    stale = [f for f in os.listdir(HERE) if f[:3].isdigit()]
    for f in stale:
        os.remove(os.path.join(HERE, f))
    names = set()
    for name, data, expected, counts, max_line in CASES:
        assert name not in names, name
        names.add(name)
        with open(os.path.join(HERE, name + ".tsv"), "wb") as f:
            f.write(data)
        with open(os.path.join(HERE, name + ".expected-errors"), "wb") as f:
            f.write(expected)
        with open(os.path.join(HERE, name + ".expected-counts"), "w") as f:
            f.write(json.dumps(counts) + "\n")
        if max_line is not None:
            with open(os.path.join(HERE, name + ".max-line-bytes"), "w") as f:
                f.write("%d\n" % max_line)
    print("wrote %d cases" % len(CASES), file=sys.stderr)


if __name__ == "__main__":
    main()
