#!/usr/bin/env python3
# Test-vector generator for the Rust port of delego.
#
# REQUIRES the upstream Python reference implementation, delego 0.3.4
# (Apache-2.0):
#
#     python3 -m venv /tmp/refvenv
#     /tmp/refvenv/bin/pip install delego==0.3.4
#
# RUN (from anywhere; outputs land next to this script):
#
#     /tmp/refvenv/bin/python spec/tests/vectors/reference/generate.py
#
# Every expected value in the output files is computed by CALLING the
# reference (delego.util / models / audit / token / policy). This script only
# builds inputs and records what the reference returns; it re-implements none
# of the reference's logic.
#
# Determinism: all randomness comes from random.Random with fixed seeds; Ed25519
# keys are derived from fixed seeds (the reference's key generators are called
# with `Ed25519PrivateKey.generate` temporarily swapped for a seeded one);
# receipt timestamps come from a fixed, synthetic clock (delego.audit.now_iso
# swapped for a counter). Ed25519 signatures are deterministic, so re-running
# the script reproduces every file byte for byte.
#
# Output (all JSON written with json.dumps(indent=1, ensure_ascii=True,
# allow_nan=False), i.e. plain ASCII):
#   canonical.json, actions.json, tokens.json, keys.json,
#   policy_validation.json, chain/ (ledger + tampered variants + cases.json),
#   tokens/token_key.pem, tokens/token_key.pub

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import os
import random
import shutil
import struct
import sys
import tempfile
import warnings
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import delego
import delego.audit
import delego.token
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from delego.audit import AuditLog, ensure_keys
from delego.models import ProposedAction
from delego.policy import Policy, PolicyError, _validate_policy
from delego.token import TokenIssuer, ensure_token_keys, verify_token
from delego.util import canonical_json, sha256_hex

OUT = Path(__file__).resolve().parent
REF_VERSION = "0.3.4"


# --------------------------------------------------------------------------- #
# helpers (ours)
# --------------------------------------------------------------------------- #
def _assert_portable(obj, where="$"):
    """No NaN/inf and no lone surrogates anywhere (the Rust reader is strict)."""
    if isinstance(obj, float):
        assert math.isfinite(obj), f"non-finite float at {where}"
    elif isinstance(obj, str):
        obj.encode("utf-8")  # raises on a lone surrogate
    elif isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, str), where
            k.encode("utf-8")
            _assert_portable(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _assert_portable(v, f"{where}[{i}]")


def write_json(path: Path, obj) -> None:
    _assert_portable(obj)
    text = json.dumps(obj, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="ascii", newline="\n")


def exc_str(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def seeded_private_key(label: str) -> Ed25519PrivateKey:
    seed = hashlib.sha256(b"delego-rust-port-vectors/" + label.encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


@contextlib.contextmanager
def seeded_generate(module, label: str):
    """Swap `module.Ed25519PrivateKey` so the reference's own key generator
    (ensure_keys / ensure_token_keys) produces a key from a fixed seed."""

    class _Seeded:
        @staticmethod
        def generate():
            return seeded_private_key(label)

    orig = module.Ed25519PrivateKey
    module.Ed25519PrivateKey = _Seeded
    try:
        yield
    finally:
        module.Ed25519PrivateKey = orig


def has_surrogate(s: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in s)


def classify(obj):
    """Return 'non_finite' / 'lone_surrogate' / None for a parsed value."""
    stack = [obj]
    found = None
    while stack:
        v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return "non_finite"
        if isinstance(v, str) and has_surrogate(v):
            found = found or "lone_surrogate"
        elif isinstance(v, dict):
            for k, x in v.items():
                if has_surrogate(k):
                    found = found or "lone_surrogate"
                stack.append(x)
        elif isinstance(v, list):
            stack.extend(v)
    return found


# =========================================================================== #
# 1. canonical.json
# =========================================================================== #
def canonical_inputs() -> list[tuple[str, str | None]]:
    """(JSON text, optional note)."""
    cases: list[tuple[str, str | None]] = []

    def add(text, note=None):
        cases.append((text, note))

    # ---- floats: named ------------------------------------------------------
    named_floats = [
        "0.0", "-0.0", "1.0", "-1.0", "2400.0", "2400.50", "1e16", "1e15", "1E15", "1e+15",
        "9999999999999998.0", "9999999999999999.0", "10000000000000000.0",
        "999999999999999.9", "123456789012345678.0", "1e17", "1.5e16",
        "1e-4", "0.0001", "1e-5", "0.00001", "1.5e-05", "1.5e-5", "1e-7", "0.0000001",
        "0.00012345", "0.000012345",
        "5e-324", "4.9406564584124654e-324", "2.4703282292062328e-324",
        "2.4703282292062327e-324", "1e-324", "-5e-324",
        "2.2250738585072011e-308", "2.2250738585072014e-308", "2.225073858507201e-308",
        "1.7976931348623157e308", "1.7976931348623157E+308", "1.7976931348623158e308",
        "-1.7976931348623157e308",
        "0.1", "0.2", "0.3", "0.30000000000000004", "0.1e1", "0.5", "0.25", "1.1", "3.14159",
        "2.718281828459045", "123456789.123456789", "123456789.12345679",
        "1E+2", "1e2", "1E2", "1e+2", "100.0", "1e22", "1e21", "1e23", "1e20",
        "1e-300", "1e-307", "1e-310", "2.5e-8", "100e-2", "0.000e5", "-0e0", "0e0", "0E-0",
        "0.0e+0", "-0.0E-10", "10e-1", "1000000e-6", "12345e-10", "0.000001e6",
        "9007199254740993.0", "9007199254740992.0", "9007199254740991.0",
        "9007199254740993e0", "4503599627370496.5", "4503599627370497.5",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "0.1000000000000000055511151231257827021181583404541015625",
        "1.0000000000000002", "0.9999999999999999", "1.9999999999999998",
        "123.456e-7", "-123.456E+7", "7.0e-10", "7e-10", "1.23e-6", "1.23e-5",
        "12345678901234567890.0", "1e100", "1e-100", "-1e-5", "-1e16",
        "65536.0", "4294967296.0", "18446744073709551616.0", "9223372036854775808.0",
        "0." + "0" * 30 + "1", "1" + "0" * 40 + ".0",
        "3.0000000000000004", "299792458.0", "6.02214076e23", "6.62607015e-34",
        "1.0e-323", "3e-323", "2.9e-323",
    ]
    for t in named_floats:
        add(t)
        if not t.startswith("-"):
            add("-" + t)
    add("[1.0, 2.0, -0.0, 1e16, 1e-5]")
    add('{"amount": 2400.0, "fee": 0.1, "tiny": 5e-324}')

    # ---- floats: random bit patterns -----------------------------------------
    rng = random.Random(0xDE1E60)
    forms = ("repr", "e17", "e20", "exact", "repr_upper")

    def render(x: float, form: str) -> str:
        if form == "repr":
            return repr(x)
        if form == "repr_upper":
            return repr(x).upper()
        if form == "e17":
            return "{:.16e}".format(x)
        if form == "e20":
            return "{:.20e}".format(x)
        return "{:E}".format(Decimal(x))  # exact binary value, in decimal

    n = 0
    while n < 500:
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if not math.isfinite(x):
            continue
        add(render(x, forms[n % len(forms)]))
        n += 1
    n = 0
    while n < 300:  # exponents near 0: exercises the 1e16 / 1e-4 thresholds
        e = rng.randint(1023 - 45, 1023 + 60)
        bits = (rng.getrandbits(1) << 63) | (e << 52) | rng.getrandbits(52)
        if n % 7 == 0:
            bits &= ~((1 << rng.randint(20, 52)) - 1)  # short mantissas
        x = struct.unpack("<d", struct.pack("<Q", bits))[0]
        add(render(x, forms[n % len(forms)]))
        n += 1
    for x in (2.0 ** k for k in range(-30, 70, 3)):
        add(repr(x))

    # ---- random decimal literals -----------------------------------------------
    for i in range(200):
        sign = rng.choice(["", "", "-"])
        ndig = rng.randint(1, 30)
        digits = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(ndig - 1))
        if rng.random() < 0.7:
            dot = rng.randint(1, len(digits))
            mant = digits[:dot] + "." + (digits[dot:] or "0")
        else:
            mant = digits
        exp = rng.randint(-345, 320)
        es = rng.choice(["e", "E"]) + rng.choice(["", "+" if exp >= 0 else "", ""]) + str(exp)
        if "." not in mant and rng.random() < 0.2:
            add(sign + mant)  # plain integer literal, kept as int by Python
        else:
            add(sign + mant + es)

    # ---- integers ----------------------------------------------------------------
    for t in ["0", "-0", "1", "-1", "42", "2400", "9007199254740993", "-9007199254740993",
              str(2**53), str(2**63 - 1), str(2**63), str(2**64 - 1), str(2**64), str(2**65),
              str(-2**63), str(-2**63 - 1), str(-2**64), str(10**16), str(10**21), str(10**22)]:
        add(t)
    for nd in (30, 31, 40, 64, 100, 155, 200, 256, 300):
        v = rng.randint(10 ** (nd - 1), 10 ** nd - 1)
        add(str(v))
        add(str(-v))
    add("[" + ",".join(str(rng.randint(10**49, 10**50)) for _ in range(5)) + "]")
    add('{"big": ' + "9" * 300 + ', "neg": -' + "1" + "0" * 299 + "}")
    add("1" + "0" * 4299, "4300 digits: the largest int Python's default int-str limit converts")
    add("1" + "0" * 4300, "4301 digits: Python's int max-str-digits limit (ValueError, not a JSON error)")

    # ---- strings -------------------------------------------------------------------
    for cp in list(range(0x00, 0x20)) + [0x7F] + list(range(0x80, 0xA0)):
        add(json.dumps(chr(cp)))  # escaped input (\u00XX or \n etc.)
        add(json.dumps("a" + chr(cp) + "b", ensure_ascii=False) if cp >= 0x20 else
            '"a\\u%04X b"' % cp)
    add('"' + "".join("\\u%04x" % c for c in range(0x20)) + '"')
    add('"\\b\\f\\n\\r\\t\\"\\\\\\/"')
    add('"/"')
    add('"a/b\\/c"')
    add('"quote \\" and backslash \\\\ end"')
    add('"\u2028\u2029"')
    add('"line\\u2028sep\\u2029para"')
    add('"\U0001F600"')
    add('"\\ud83d\\ude00"')
    add('"\\uD83D\\uDE00"')
    add('"x\\ud83d\\ude00y\U0001F680z"')
    add('"\U0010FFFF"')
    add('"\\udbff\\udfff"')
    add('"\\ud800\\udc00"')
    add('"\u4e2d\u6587\u5b57\u7b26 \uac00\ud7a3 \u3042"')
    add('"\\u4e2d\\u6587"')
    add('"\uffff\ufffe\ufeff\ufffd"')
    add('"\\uffff\\ufeff"')
    add('"caf\u00e9 vs cafe\u0301"')
    add('"\\u00e9"')
    add('"\\u00E9\\u00C9"')
    add('"\\u0000"')
    add('"nul\\u0000inside"')
    add('"\\u0041\\u0062"')
    add('"\u00a0\u2000\u3000"')
    add('"\u200b\u200c\u200d\u2060"')
    add('"\u0085\u009f\u00ad"')
    add('"\\u007f\\u0080\\u009f"')
    add('"<script>&amp;\'"')
    add('""')
    add('"' + "\u00e9" * 50 + "\U0001F600" * 20 + '"')
    add(json.dumps("".join(chr(c) for c in range(0x20, 0x7F))))
    add(json.dumps("".join(chr(c) for c in range(0xA0, 0x180)), ensure_ascii=False))

    # ---- objects: key ordering ---------------------------------------------------------
    add('{"a":1,"B":2,"\u00e9":3,"Z":4,"aa":5,"":6}')
    add('{"\u00e9":1,"e\u0301":2}')
    add('{"\\u00e9":1,"e\\u0301":2}')
    add('{"\U0001F600":1,"\uffff":2}')
    add('{"\\ud83d\\ude00":1,"\\uffff":2,"\\ue000":3,"\\ud7ff":4}')
    add('{"\U0001F600":1,"\ufb01":2,"\U00010000":3,"\uff5e":4}')
    add('{"b":1,"a":2,"A":3,"_":4,"0":5,"~":6,"\u007f":7," ":8}')
    add('{"a\\u0000b":1,"a":2,"ab":3,"a\\u0001":4}')
    add('{"key":"v","Key":"V","KEY":"W","k\u00e9y":"x","k\u0065y":"y"}')
    add('{"\u4e2d":1,"\u6587":2,"\uac00":3,"\u3042":4,"z":5}')
    add('{"10":1,"9":2,"1":3,"01":4,"-1":5}')
    add('{"z":{"y":{"x":[{"b":1,"a":2}]}},"a":[3,2,1]}')
    # duplicate keys: Python keeps the last value but the FIRST position
    add('{"a":1,"a":2}')
    add('{"b":1,"a":2,"b":3}')
    add('{"a":{"x":1},"a":{"y":2}}')
    add('{"k":1,"k":null,"j":0}')
    add('[{"dup":true,"dup":false}]')
    # ---- literals / containers / whitespace ----------------------------------------------
    for t in ["true", "false", "null", "[]", "{}", "[[]]", "{\"a\":{}}", "[{}]", "[null]",
              "[true,false,null]", ' [ 1 , 2 ] ', '\t{\n"a"\r:\n1\t}\r\n', '\n\n\n""\n',
              '[ ]', '{ }', ' [\t] ', '{"a" : [ 1 ,{ "b" :null } ] }',
              '[1,[2,[3,[4,[5,[6,[7,[8]]]]]]]]', '{"a":[],"b":{},"c":"","d":0,"e":0.0}',
              '[0,-0,0.0,-0.0]', '[1,1.0,1e0,10e-1]']:
        add(t)
    add("[" * 500 + "]" * 500, "nesting depth 500")
    add('{"a":' * 300 + "1" + "}" * 300, "object nesting depth 300")
    add("[" * 100000 + "]" * 100000, "depth 100000: Python raises RecursionError")
    add(json.dumps({"reasons": ["matched rule 'pay'", "amount: 2400 within max 5000"],
                    "params": {"amount": 2400.0, "currency": "USD", "memo": "Caf\u00e9 \U0001F600"}},
                   ensure_ascii=False))

    # ---- error cases ----------------------------------------------------------------------
    for t in ["NaN", "Infinity", "-Infinity", "[NaN]", '{"a":Infinity}', "1e400", "-1e400",
              "1E309", "[1.8e308]", '{"x":-1e999}', "123456789e300",
              '"\\ud800"', '"\\udc00"', '"\\udfff"', '"a\\ud83d"', '"\\ude00\\ud83d"',
              '"\\ud83d\\u0041"', '"\\ud83dx"', '{"\\ud800":1}', '["ok","\\udbff"]',
              '"\\ud83d\\ud83d\\ude00"']:
        add(t)
    for t in ["", " ", "nan", "inf", "-inf", "+1", "01", "-01", "00", "1.", ".5", "-.5", "1.e5",
              "1e", "1e+", "-", "--1", "0x10", "1_000", "[1,]", "{\"a\":1,}", "[1 2]", "{'a':1}",
              "{a:1}", "{\"a\" 1}", "{\"a\":}", "{1:2}", "[", "]", "{", "}", "\"abc", "abc\"",
              "tru", "True", "NULL", "nul", "undefined", "1 2", "[] []", "{}x", "\"\\x41\"",
              "\"\\u12\"", "\"\\u12G4\"", "\"\\U0041\"", "\"\\a\"", "\"\\'\"", "\"\\\"",
              "\"a\nb\"", "\"a\tb\"", "\"\x00\"", "\"\x1f\"", "\"\r\"",
              "\ufeff{}", "\u00a0[]", "[\u00a0]", "\x0c[]", "[\x0b]", "\u3000{}",
              "// c\n{}", "/* c */{}", "[1]//", "'str'", "[\"a\",]", "{,}", "[,]",
              "{\"a\"::1}", "{\"a\":1 \"b\":2}", "-Infinity1", "Infinityx", "NaN1", "[NaN,]"]:
        add(t)
    return cases


def build_canonical() -> list[dict]:
    out = []
    for text, note in canonical_inputs():
        rec = {"input": text}
        try:
            obj = json.loads(text)
        except BaseException as e:  # JSONDecodeError, ValueError (int limit), RecursionError
            rec.update(canonical=None, python_default=None, error=True, why="python_rejects",
                       python_error=exc_str(e))
        else:
            why = classify(obj)
            rec["canonical"] = None if why else canonical_json(obj)
            rec["python_default"] = json.dumps(obj)
            rec["error"] = why is not None
            if why:
                rec["why"] = why
                if why == "non_finite":
                    rec["python_canonical"] = canonical_json(obj)
        if note:
            rec["note"] = note
        out.append(rec)
    return out


# =========================================================================== #
# 2. actions.json
# =========================================================================== #
WS_STRIPPED = ["\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f", " ", "\x85",
               "\xa0", "\u1680"] + [chr(c) for c in range(0x2000, 0x200B)] + \
              ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
WS_NOT_STRIPPED = ["\ufeff", "\u200b", "\u180e", "\u200c", "\u200d", "\u2060", "\x00", "\x1b"]


def action_record(instruction, method, url, params) -> dict:
    a = ProposedAction(instruction=instruction, method=method, url=url, params=params)
    rec = {"action": {"instruction": instruction, "method": method, "url": url, "params": params},
           "params_json": json.dumps(params)}
    try:
        parts = urlsplit(url)
        rec["urlsplit"] = [parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment]
        host, path, query = a.host, a.path, a.canonical_query
        fp_dict = {"method": method.upper(), "host": host, "path": path,
                   "params": params, "query": query}
        fp_json = canonical_json(fp_dict)
        assert sha256_hex(fp_json) == a.fingerprint  # our preimage == the reference's
        v02 = {k: v for k, v in fp_dict.items() if k != "query"}
        intent_json = canonical_json({"instruction": instruction.strip()})
        assert sha256_hex(intent_json) == a.intent_hash
        rec.update({
            "host": host,
            "path": path,
            "query": query,
            "method_upper": method.upper(),
            "instruction_stripped": instruction.strip(),
            "intent_canonical_json": intent_json,
            "intent_hash": a.intent_hash,
            "fingerprint_canonical_json": fp_json,
            "action_fingerprint": a.fingerprint,
            "fingerprint_v02_canonical_json": canonical_json(v02),
            "action_fingerprint_v02": sha256_hex(canonical_json(v02)),
            "summary": a.summary(),
            "fingerprinted_url": a.fingerprinted_url,
            "has_query": a.has_query,
            "has_fragment": a.has_fragment,
            "error": None,
        })
    except Exception as e:
        rec.update({k: None for k in (
            "urlsplit", "host", "path", "query", "method_upper", "instruction_stripped",
            "intent_canonical_json", "intent_hash", "fingerprint_canonical_json",
            "action_fingerprint", "fingerprint_v02_canonical_json", "action_fingerprint_v02",
            "summary", "fingerprinted_url", "has_query", "has_fragment")})
        rec["error"] = exc_str(e)
        # intent hash does not depend on the URL; record it anyway
        rec["intent_hash"] = a.intent_hash
        rec["intent_canonical_json"] = canonical_json({"instruction": instruction.strip()})
        rec["instruction_stripped"] = instruction.strip()
        rec["method_upper"] = method.upper()
    return rec


def build_actions() -> list[dict]:
    out = []
    I0 = "Pay the March invoice from Acme"
    P0 = {"amount": 2400, "currency": "USD", "destination": "internal"}
    B = "https://api.example.com/v1/payments"

    def add(instruction=I0, method="POST", url=B, params=None):
        out.append(action_record(instruction, method, url, P0 if params is None else params))

    # ---- URL parsing ---------------------------------------------------------
    urls = [
        B, "https://api.example.com", "https://api.example.com/", "https://api.example.com?",
        "https://api.example.com?a=1", "https://api.example.com#frag", "https://api.example.com/?#",
        "HTTPS://API.Example.COM:8443/x", "HtTpS://Api.Example.Com/Mixed/Case/PATH",
        "https://user:pw@Host/p", "https://USER:PassWord@Host.Example:99/p?q=1",
        "https://@host/p", "https://user@/p", "https://a@b@c/p",
        "http://[::1]:8080/x", "http://[::1]/", "http://[2001:DB8::A]:443/path?x=1",
        "http://[fe80::1%25eth0]/", "http://[v7.fe]/x",
        "https://api.example.com/x?", "https://api.example.com/x??", "https://api.example.com/x?#frag",
        "https://api.example.com/x#frag", "https://api.example.com/x#", "https://api.example.com/x#a?b=1",
        "https://api.example.com/x?a=1?b=2", "https://api.example.com/x?a=1?b=2#c?d=3",
        "https://api.example.com/x?a=1#f#g", "https://api.example.com/x#?a=1",
        "https://api.example.com\\x\\y?a=\\b", "https://api.example.com/a\\b",
        "  https://api.example.com/lead-space", "https://api.example.com/trail-space  ",
        "https://api.example.com/x?a=1 ", "\t\nhttps://api.example.com/x",
        "\x00\x1f https://api.example.com/ctl", "https://api.exa\tmple.com/p\nath?a=\r1",
        "ht\ttps://api.example.com/x", "https://api.example.com/x\t", "\x0b\x0chttps://h/x",
        "\u00a0https://api.example.com/x", "https://api.example.com/x\u00a0",
        "/just/path", "/just/path?a=1", "just/relative", "api.example.com/x",
        "//api.example.com/x", "///x", "////x", "mailto:x", "mailto:user@example.com?subject=hi",
        "localhost:8080/x", "urn:isbn:0451450523", "file:///etc/passwd", "file://host/share",
        "data:text/plain,hi", "1http://h/x", "+http://h/x", "a+b.c-d://h/x", "ht_tp://h/x",
        "https:/api.example.com/x", "https:api.example.com/x", "https:", "https://", "",
        "?a=1", "#f", "?", "https://api.example.com:/x", "https://api.example.com:abc/x",
        "https://api.example.com:99999/x",
        "https://b\u00fccher.example/stra\u00dfe?q=\u00e9", "https://\u4f8b\u3048.\u30c6\u30b9\u30c8/\u30d1\u30b9",
        "https://\u0130stanbul.example/x", "https://\u212aelvin.example/x", "https://\u00c9COLE.fr/",
        "https://xn--bcher-kva.example/", "https://api.example.com/caf%C3%A9/%2F/%2e%2e/x%20y",
        "https://api.example.com/%7Euser/a%2Fb?x=%2F", "https://api.example.com/a/../b/./c",
        "https://api.example.com//double//slash", "https://api.example.com/\U0001F600",
        "https://EXAMPLE.com/\u00c9", "https://ex\uff41mple.com/fullwidth-a",
        "https://ex\uff0fample.com/x", "https://ex\u2100ample.com/x", "https://ex\uff03ample.com/x",
        "https://[::1/x", "https://::1]/x", "https://[zz]/x", "https://[127.0.0.1]/x",
        "https://[v1]/x", "https://h]/x",
        "https://api.example.com/x;param?a=1;b=2", "https://api.example.com/%",
        "HTTP://EXAMPLE.COM", "https://api.example.com/X?A=1",
        "https://host:8080", "https://host:8080?x=1#y", "HTTPS://HOST./x", "https://host/x?y#z?w",
        "https://host/?a=1&b=2#", "https://[::FFFF:1.2.3.4]/", "https://[::1]:8080?a=1",
        "https://h/x/", "https://h/x/?", "https://h?#", "https://h#?",
    ]
    for u in urls:
        add(url=u)

    # ---- query folding -------------------------------------------------------
    queries = [
        "a=b+c", "a=b%20c", "a=b%2Bc", "a=%2b", "a=%", "a=%%", "a=%zz", "a=%4", "a=%4g",
        "a=%e9", "a=%E9", "a=%C3%A9", "a=%c3%a9", "a=%C3\u00e9", "a=%C3\u00a9", "a=%E2%82\u00ac",
        "a=%F0%9F%98%80", "a=%F0%9F%98", "a=%ED%A0%80", "a=%C0%AF", "a=%FF%FE", "a=%00", "a=%0A",
        "a=\u00e9", "\u00e9=1", "a=\U0001F600", "a=1&&b=2", "&a=1", "a=1&", "&", "&&", "=x", "==",
        "a==b", "a=b=c", "a", "a&b", "a=1&a=2", "a=2&a=1", "a=1&a=1", "a=1&a", "a&a=", "a=&a",
        "b=1&a=2&A=3&_=4&%C3%A9=5&\u00e9=6&e%CC%81=7&Z=8",
        "x=%F0%9F%98%80&x=%EF%BF%BF", "x=\uffff&x=\U0001F600",
        "a=1;b=2", "a=1;b=2&c=3", "q=a+b%2Bc%20d+", "+=+", "%2B=%2B", "a+b=c+d",
        "a%3Db=c", "a=b%26c=d", "a%26b=1", "name=%E4%B8%AD%E6%96%87", "sort=-created_at&limit=10",
        "a=1#frag", "emoji=%F0%9F%98%80%F0", "a=%C3%28", "a=%e2%28%a1", "x=%25", "x=%2525",
        "x=%%41", "x=%4%41", "%=%", "%zz=%zz", "a=%c3%a9&a=%C3%A9&a=\u00e9",
        "q=" + "%20" * 3, "q=" + "x" * 200, "a=\u00a0", "a=%C2%A0",
        "a=1\t&b=2", "a=\n1", "a= 1", " a=1", "a=1 &b=2", "=", "?=", "a=%2", "a=%%2525",
        "a=%u00e9", "a=%C3%A9%", "%F0%9F%98%80=%F0%9F%98%80&%F0%9F=1", "a=%7e&a=~",
        "k=\u00c5&k=A\u030a&k=%C3%85", "Z=1&a=1&_=1&~=1&%7F=1&%C2%80=1&%7f=2",
        "a=%E2%80%A8", "a=%EF%BB%BF", "a=1&a=1&a=1", "a=%ED%9F%BF&a=%EE%80%80",
    ]
    for q in queries:
        add(url="https://api.example.com/v1/search?" + q, method="GET", params={})

    # ---- instructions ----------------------------------------------------------
    for w in WS_STRIPPED:
        add(instruction=w + I0 + w)
    for w in WS_NOT_STRIPPED:
        add(instruction=w + I0 + w)
    add(instruction="".join(WS_STRIPPED) + I0 + "".join(reversed(WS_STRIPPED)))
    add(instruction="")
    add(instruction="   ")
    add(instruction="".join(WS_STRIPPED))
    add(instruction="Zahle die Rechnung \u00fcber 2.400 \u20ac \U0001F4B8 \u4ed8\u6b3e")
    add(instruction="multi\nline\ninstruction\n")
    add(instruction="inner  spaces\u3000kept")
    add(instruction="quote \" backslash \\ slash /")
    add(instruction="e\u0301 vs \u00e9")
    add(instruction="\u2028" + I0 + "\u2029")
    add(instruction="\ufeff")
    add(instruction="\u200b")
    add(instruction="\x85\xa0")
    add(instruction="\x1c\x1d\x1e\x1fx\x1f")

    # ---- methods ---------------------------------------------------------------
    for m in ["post", "Post", "pOsT", "GET", "get", "delete", "patch", "Options", "", " post ",
              "po\u017ft", "\u00df", "stra\u00dfe", "\ufb01nd", "\u0149", "\u0390", "\u0131nfo",
              "i", "\u01c5", "\u1e9e", "caf\u00e9", "\U00010428", "\u0250", "\u1f80", "m\u00b5"]:
        add(method=m)

    # ---- params ------------------------------------------------------------------
    param_sets = [
        {}, {"amount": 2400.0}, {"amount": 2400.5, "currency": "EUR"},
        {"amount": 1e16}, {"amount": 1e15}, {"amount": 1e-5}, {"amount": 0.1 + 0.2},
        {"amount": -0.0}, {"amount": 0.0}, {"amount": 5e-324}, {"amount": 1.7976931348623157e308},
        {"amount": 10**40}, {"amount": -(10**40)}, {"amount": 2**63}, {"amount": 2**64},
        {"n": 123456789012345678901234567890, "f": 123456789.123456789},
        {"nested": {"b": [1, 2, {"z": None, "a": True}], "a": {"y": False, "x": []}}},
        {"memo": "Caf\u00e9 \U0001F600 \u4e2d\u6587", "\u00e9": 1, "e\u0301": 2},
        {"ctl": "\x00\x01\x1f\x7f\x80\x9f", "ls": "\u2028\u2029", "slash": "a/b"},
        {"\U0001F600": 1, "\uffff": 2, "B": 3, "a": 4, "": 5},
        {"list": [], "obj": {}, "s": "", "z": 0, "t": True, "f": False, "n": None},
        {"long": "x" * 500},
        {"amount": 2400, "currency": "USD", "destination": "internal"},
        {"": None}, {"a": [1.0, 2.5, -0.0, 1e300, 1e-7, 123456789.123456789]},
        {"k\U0001F600": {"\uffff": 1, "\ue000": 2}}, {"x": [[[]], {}, [{}]]},
    ]
    for p in param_sets:
        add(params=p)
    add(method="GET", url="https://api.example.com/v1/items?b=2&a=1", params={})
    add(method="get", url="https://API.example.com:443/v1/items/?z=%20&y=+", params={"q": "x"})

    # ---- random mix (fixed seed) ------------------------------------------------------
    rng = random.Random(0xAC7105)
    schemes = ["https", "http", "HTTPS", "Https", "ftp", ""]
    hosts = ["api.example.com", "API.Example.COM", "pay.example.org:8443", "user:pw@Host.io",
             "[::1]:8080", "[2001:db8::1]", "b\u00fccher.example", "\u4f8b\u3048.jp", "localhost",
             "127.0.0.1:5000", "h", "xn--n3h.example", "\u0130.example", "MiXeD.Case.Example:80"]
    segs = ["v1", "payments", "Pay", "%7E", "caf%C3%A9", "\u00e9", "\U0001F600", "a b", "a+b",
            "..", ".", "", "x;y", "%2F", "\u4e2d", "items", "123", "%", "A"]
    qnames = ["a", "b", "A", "B", "\u00e9", "e%CC%81", "%C3%A9", "q", "x+y", "%2B", "", "z",
              "\U0001F600", "%F0%9F%98%80", "_", "id", "ID", "%zz", "%e9"]
    qvals = ["", "1", "2", "a+b", "a%20b", "%2B", "%", "%4", "%e9", "%C3%A9", "\u00e9", "=",
             "x=y", "?", "/", "%C3", "\uffff", "%EF%BF%BF", "true", "-1.5e3"]
    pieces_str = ["", "USD", "EUR", "Caf\u00e9", "\U0001F600", "\u4e2d\u6587", "line\nbreak",
                  "tab\t", "\x00", "\u2028", "quote\"", "back\\slash", "a/b", "\ufeff"]
    floats = [0.0, -0.0, 1.0, 2400.0, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 1.5e-05,
              1e-7, 5e-324, 1.7976931348623157e308, 0.1, 0.30000000000000004,
              123456789.123456789, 1e22, 1e21, 1e-300, 2.5e-8, -1e16, 0.5, 3.14]
    ints = [0, 1, -1, 2400, 2**53 + 1, 2**63, -(2**63) - 1, 2**64, 10**30, -(10**45)]

    def rvalue(depth=0):
        r = rng.random()
        if depth < 3 and r < 0.12:
            return {rng.choice(qnames + ["k", "K", "amount"]): rvalue(depth + 1)
                    for _ in range(rng.randint(0, 3))}
        if depth < 3 and r < 0.22:
            return [rvalue(depth + 1) for _ in range(rng.randint(0, 3))]
        if r < 0.45:
            return rng.choice(floats)
        if r < 0.65:
            return rng.choice(ints)
        if r < 0.9:
            return rng.choice(pieces_str)
        return rng.choice([True, False, None])

    for _ in range(300):
        sch = rng.choice(schemes)
        url = (sch + "://" if sch else rng.choice(["", "//"])) + rng.choice(hosts)
        if rng.random() < 0.85:
            url += "/" + "/".join(rng.choice(segs) for _ in range(rng.randint(0, 4)))
        if rng.random() < 0.7:
            qp = []
            for _ in range(rng.randint(0, 5)):
                nm = rng.choice(qnames)
                r = rng.random()
                qp.append(nm if r < 0.15 else nm + "=" + rng.choice(qvals))
            url += "?" + "&".join(qp)
        if rng.random() < 0.15:
            url += "#" + rng.choice(["", "frag", "a?b", "\u00e9"])
        if rng.random() < 0.1:
            url = rng.choice([" ", "\t", "\x01"]) + url
        instr = rng.choice(["", " ", "\u3000", "\xa0", "\ufeff", "\n"]) + \
            rng.choice([I0, "Refund order #123", "\u652f\u4ed8\u8d26\u5355", "Send \U0001F4B8 to Bob",
                        "Delete the draft", "x"]) + \
            rng.choice(["", " ", "\u2029", "\x85", "\u200b", "\t\n"])
        meth = rng.choice(["GET", "post", "Put", "delete", "PATCH", "po\u017ft", "\u00df", "head"])
        params = {}
        for _ in range(rng.randint(0, 4)):
            params[rng.choice(["amount", "currency", "destination", "memo", "\u00e9", "B", "a",
                               "\U0001F600", "nested", "n"])] = rvalue()
        out.append(action_record(instr, meth, url, params))
    return out


# =========================================================================== #
# 3. chain/
# =========================================================================== #
def synthetic_clock():
    base = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    i = 0

    def now_iso():
        nonlocal i
        t = base + timedelta(seconds=37 * i, microseconds=0 if i % 5 == 0 else 123457 * i % 1000000)
        i += 1
        return t.isoformat()
    return now_iso


def build_chain(work: Path) -> None:
    cdir = work / "chain"
    cdir.mkdir()
    priv, pub = cdir / "signing_key.pem", cdir / "signing_key.pub"
    with seeded_generate(delego.audit, "chain-signing-key"):
        ensure_keys(priv, pub)
    ledger = cdir / "ledger.jsonl"
    log = AuditLog(ledger, priv, pub)

    rng = random.Random(0xC4A1)
    instrs = ["Pay the March invoice from Acme", "Refund order #123 \u2014 customer complaint",
              "\u652f\u4ed8\u4f9b\u5e94\u5546\u8d26\u5355", "Zahle die Miete f\u00fcr M\u00e4rz \U0001F3E0",
              "Delete the stale draft"]
    urls = ["https://api.example.com/v1/payments", "https://api.stripe.example/v1/refunds?idempotency=abc",
            "https://b\u00fccher.example/bestellung", "https://API.Example.COM:8443/x?b=2&a=1",
            "https://api.example.com/v1/drafts/42"]
    orig_now = delego.audit.now_iso
    delego.audit.now_iso = synthetic_clock()
    try:
        for i in range(40):
            params = {"amount": rng.choice([2400, 2400.0, 99.99, 1e16, 1e-5, 0.1 + 0.2, 10**20]),
                      "currency": rng.choice(["USD", "EUR", "\u00a5"])}
            if i % 7 == 3:
                params["memo"] = "Long memo " + "\u00e9\U0001F600 " * 40 + "end"
            if i % 9 == 4:
                params = {}
            a = ProposedAction(instrs[i % 5], ["POST", "post", "GET", "Delete"][i % 4], urls[i % 5], params)
            outcome = ["allow", "deny", "needs_approval"][i % 3]
            rule = None if i % 4 == 1 else ["pay-small", "refund-\u00e9", "r\u00e8gle \U0001F4DC"][i % 3]
            reasons = [f"matched rule '{rule}'" if rule else "no rule matched; default = deny"]
            if i % 6 == 2:
                reasons.append("amount: 2.4e+3 within max 5000 \u2014 ok \u2713")
            if i % 10 == 7:
                reasons = []
            approval = f"apr_{i:04d}_\u00e9" if outcome == "needs_approval" or i % 8 == 5 else None
            log.append(phase="decision" if i % 2 == 0 else "execution", outcome=outcome, rule=rule,
                       reasons=reasons, intent_hash=a.intent_hash, action_fingerprint=a.fingerprint,
                       action_summary=a.summary(), approval_id=approval)
    finally:
        delego.audit.now_iso = orig_now

    text = ledger.read_text(encoding="utf-8")
    lines = text.split("\n")[:-1]
    entries = [json.loads(l) for l in lines]
    assert len(entries) == 40 and text.isascii()
    head = [entries[-1]["seq"], entries[-1]["entry_hash"]]

    other = seeded_private_key("chain-other-key")

    def dumps(e):  # same line format the reference's append writes
        return json.dumps(e)

    def reseal(e, key):
        payload = {k: e[k] for k in delego.audit._PAYLOAD_KEYS}
        h = sha256_hex(canonical_json(payload))
        return {**payload, "entry_hash": h, "signature": key.sign(h.encode()).hex()}

    def edited(idx, **changes):
        ls = list(lines)
        e = dict(entries[idx]); e.update(changes)
        ls[idx] = dumps(e)
        return ls

    def without(idx, *keys):
        ls = list(lines)
        e = {k: v for k, v in entries[idx].items() if k not in keys}
        ls[idx] = dumps(e)
        return ls

    def J(ls, nl="\n", trailing=True):
        return nl.join(ls) + (nl if trailing else "")

    variants: dict[str, bytes] = {}

    def V(name, data):
        variants[name] = data.encode("utf-8") if isinstance(data, str) else data

    V("ledger", text)
    V("edit_seq0_outcome", J(edited(0, outcome="allow" if entries[0]["outcome"] != "allow" else "deny")))
    V("edit_mid_reasons", J(edited(20, reasons=entries[20]["reasons"] + ["injected"])))
    V("edit_last_summary", J(edited(39, action_summary=entries[39]["action_summary"] + " ")))
    V("edit_mid_rule_to_null", J(edited(15, rule=None)))
    V("edit_mid_ts", J(edited(12, ts=entries[12]["ts"].replace("+00:00", "Z"))))
    V("deleted_middle", J(lines[:20] + lines[21:]))
    V("swapped_lines", J(lines[:10] + [lines[11], lines[10]] + lines[12:]))
    V("truncated_tail", J(lines[:30]))
    V("truncated_no_final_newline", J(lines, trailing=False))
    V("garbage_line", J(lines[:20] + ["this is not json {"] + lines[20:]))
    V("garbage_replaces_line", J(lines[:20] + ["\x01\x02garbage"] + lines[21:]))
    V("empty_and_whitespace_lines", J(lines[:10] + ["", "   \t  "] + lines[10:20] + ["\u3000\xa0"] + lines[20:]))
    V("blank_lines_then_garbage", J(lines[:5] + ["", "", " "] + ["{broken"] + lines[5:]))
    V("bom_only_line", J(lines[:10] + ["\ufeff"] + lines[10:]))
    V("bom_at_file_start", "\ufeff" + text)
    V("json_array_line", J(lines[:20] + ['[1, 2, "seq"]'] + lines[20:]))
    V("json_string_line", J(lines[:20] + ['"just a string"'] + lines[20:]))
    V("json_number_line", J(lines[:20] + ["42"] + lines[20:]))
    V("json_null_line", J(lines[:20] + ["null"] + lines[20:]))
    V("json_empty_object_line", J(lines[:20] + ["{}"] + lines[20:]))
    V("object_only_seq_line", J(lines[:20] + ['{"seq": 99}'] + lines[20:]))
    V("missing_one_field", J(without(20, "approval_id")))
    V("missing_several_fields", J(without(20, "ts", "rule", "prev_hash", "intent_hash")))
    V("missing_entry_hash", J(without(20, "entry_hash")))
    V("missing_signature", J(without(20, "signature")))
    V("missing_seq", J(without(20, "seq")))
    V("signature_not_hex", J(edited(20, signature="zz" * 64)))
    V("signature_odd_length", J(edited(20, signature=entries[20]["signature"][:-1])))
    V("signature_uppercase_hex", J(edited(20, signature=entries[20]["signature"].upper())))
    V("signature_with_spaces", J(edited(20, signature=" ".join(
        entries[20]["signature"][i:i + 2] for i in range(0, 128, 2)))))
    V("signature_truncated_even", J(edited(20, signature=entries[20]["signature"][:-2])))
    V("signature_number", J(edited(20, signature=12345)))
    V("entry_hash_number", J(edited(20, entry_hash=12345)))
    V("entry_hash_uppercase", J(edited(20, entry_hash=entries[20]["entry_hash"].upper())))
    V("seq_as_string", J(edited(20, seq=str(entries[20]["seq"]))))
    V("seq_as_float", J(edited(20, seq=float(entries[20]["seq"]))))
    e20 = dict(entries[20]); e20["x_extra"] = "unknown field"
    V("extra_unknown_field", J(lines[:20] + [dumps(e20)] + lines[21:]))
    V("reordered_keys", J(lines[:20] + [dumps(dict(reversed(list(entries[20].items()))))] + lines[21:]))
    V("compact_separators", J(lines[:20] + [json.dumps(entries[20], separators=(",", ":"))] + lines[21:]))
    # non-ASCII written raw instead of \u-escaped (same parsed value)
    raw_lines = [json.dumps(e, ensure_ascii=False) for e in entries]
    assert raw_lines != lines
    V("raw_non_ascii_all_lines", J(raw_lines))
    V("raw_non_ascii_one_line", J(lines[:3] + [raw_lines[3]] + lines[4:]))
    V("crlf_line_endings", J(lines, nl="\r\n"))
    V("cr_only_line_endings", J(lines, nl="\r"))
    V("mixed_line_endings", J(lines[:10], nl="\r\n") + J(lines[10:20], nl="\r") + J(lines[20:]))
    # characters str.splitlines() treats as line breaks, written raw inside a JSON string.
    # The receipt (seq 20) and every later one are re-hashed, re-linked and re-signed
    # with the REAL key, so the \u-escaped form of the same ledger verifies clean and
    # the only difference in the raw form is how lines are split.
    real_key = seeded_private_key("chain-signing-key")

    def relinked_with_reason(extra: str) -> list[dict]:
        es = [dict(e) for e in entries]
        es[20]["reasons"] = es[20]["reasons"] + [extra]
        for k in range(20, 40):
            if k > 20:
                es[k]["prev_hash"] = es[k - 1]["entry_hash"]
            es[k] = reseal(es[k], real_key)
        return es

    for nm, ch in [("u2028", "\u2028"), ("u2029", "\u2029"), ("x85", "\x85"), ("x1c", "\x1c"),
                   ("x1d", "\x1d"), ("x1e", "\x1e"), ("x0b", "\x0b"), ("x0c", "\x0c")]:
        es = relinked_with_reason(f"a{ch}b")
        esc_lines = [dumps(e) for e in es]
        raw = esc_lines[20].replace(json.dumps(ch)[1:-1], ch)
        assert ch in raw and raw != esc_lines[20]
        V(f"escaped_{nm}_relinked", J(esc_lines))
        V(f"raw_{nm}_inside_string", J(esc_lines[:20] + [raw] + esc_lines[21:]))
    # a raw \u2028 between tokens (outside a string) -- valid JSON whitespace? no: not JSON ws
    V("raw_u2028_between_tokens", J(lines[:20] + [lines[20].replace(", ", ",\u2028", 1)] + lines[21:]))
    V("line_ends_with_cr_only", J(lines[:20] + [lines[20] + "\r"] + lines[21:]))
    V("trailing_whitespace_on_line", J(lines[:20] + [lines[20] + " \t"] + lines[21:]))
    V("leading_whitespace_on_line", J(lines[:20] + ["  " + lines[20]] + lines[21:]))
    V("invalid_utf8_byte", J(lines[:20]).encode() + b"\xff\xfe garbage\n" + J(lines[20:]).encode())
    V("nul_byte_line", J(lines[:20] + ["\x00"] + lines[20:]))
    # re-signed with a different key
    V("resigned_last_other_key", J(lines[:39] + [dumps(reseal({**entries[39], "outcome": "allow"}, other))]))
    V("resigned_mid_other_key", J(lines[:20] + [dumps(reseal({**entries[20], "outcome": "allow"}, other))] + lines[21:]))
    # edited + re-hashed + signed with the REAL key: only the chain link breaks
    V("resealed_mid_real_key", J(lines[:20] + [dumps(reseal({**entries[20], "outcome": "allow"},
                                                             seeded_private_key("chain-signing-key")))] + lines[21:]))
    # duplicate keys: Python's json keeps the LAST occurrence
    d_first = lines[20].replace("{", '{"outcome": "BOGUS", ', 1)
    d_last = lines[20][:-1] + ', "outcome": "BOGUS"}'
    V("duplicate_key_bogus_first", J(lines[:20] + [d_first] + lines[21:]))
    V("duplicate_key_bogus_last", J(lines[:20] + [d_last] + lines[21:]))
    V("nan_in_line", J(lines[:20] + [lines[20].replace('"seq": 20', '"seq": NaN', 1)] + lines[21:]))
    V("duplicate_line", J(lines[:20] + [lines[20]] + lines[20:]))
    V("only_first_line", J(lines[:1]))
    V("empty_file", "")
    V("whitespace_only_file", "\n \n\t\n")
    V("genesis_removed", J(lines[1:]))

    for name, data in variants.items():
        p = cdir / ("ledger.jsonl" if name == "ledger" else f"{name}.jsonl")
        if name != "ledger":
            p.write_bytes(data)
        else:
            assert p.read_bytes() == data

    heads = {
        "real_head": head,
        "older_head_seq10": [10, entries[10]["entry_hash"]],
        "wrong_hash": [39, "0" * 64],
        "beyond_end": [45, entries[39]["entry_hash"]],
        "seq0_head": [0, entries[0]["entry_hash"]],
        "right_hash_wrong_seq": [38, entries[39]["entry_hash"]],
        "head_of_truncated": [29, entries[29]["entry_hash"]],
    }
    cases = []
    for name in variants:
        fname = "ledger.jsonl" if name == "ledger" else f"{name}.jsonl"
        hlist = [(None, None), ("real_head", heads["real_head"])]
        if name == "ledger":
            hlist = [(None, None)] + list(heads.items())
        if name in ("truncated_tail",):
            hlist.append(("head_of_truncated", heads["head_of_truncated"]))
        for hname, h in hlist:
            lg = AuditLog(cdir / fname, priv, pub)
            rec = {"name": name if hname is None else f"{name}@{hname}", "file": fname,
                   "expected_head": h}
            try:
                ok, problems = lg.verify(expected_head=tuple(h) if h else None)
                rec.update(ok=ok, problems=problems, exception=None)
            except Exception as e:
                rec.update(ok=None, problems=None, exception=exc_str(e))
            cases.append(rec)
    write_json(cdir / "cases.json", cases)
    for lock in cdir.glob("*.lock"):
        lock.unlink()


# =========================================================================== #
# 4. tokens.json (+ tokens/token_key.pem/.pub)
# =========================================================================== #
def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def build_tokens(work: Path) -> dict:
    tdir = work / "tokens"
    tdir.mkdir()
    priv_p, pub_p = tdir / "token_key.pem", tdir / "token_key.pub"
    with seeded_generate(delego.token, "token-signing-key"):
        ensure_token_keys(priv_p, pub_p)
    priv = serialization.load_pem_private_key(priv_p.read_bytes(), password=None)
    pub = serialization.load_pem_public_key(pub_p.read_bytes())
    other = seeded_private_key("token-other-key")
    ISS, AUD = "https://pdp.example", "https://broker.example/payments"
    a1 = ProposedAction("Pay the March invoice from Acme", "POST",
                        "https://api.example.com/v1/payments?x=1", {"amount": 2400, "currency": "USD"})
    a2 = ProposedAction("\u652f\u4ed8\u8d26\u5355 \U0001F4B8", "get", "https://b\u00fccher.example/a", {})
    IAT = 1735689600  # 2025-01-01T00:00:00Z, pinned

    mint_specs = [
        dict(),
        dict(approval_id="apr_0001"),
        dict(subject="agent-7"),
        dict(subject="Jos\u00e9 \U0001F916 \u4ee3\u7406"),
        dict(policy_version=1),
        dict(rule="pay-small"),
        dict(policy_version=3, rule="r\u00e8gle-\u00e9"),
        dict(policy_version=0, rule=None),
        dict(approval_id="apr_\u00e9\u00e9", subject="s", policy_version=2, rule="pay"),
        dict(approval_id=""),
        dict(subject=""),
        dict(rule=""),
        dict(_ttl=60),
        dict(_ttl=300),
        dict(_ttl=600),
        dict(_ttl=0),
        dict(_ttl=-5),
        dict(_action=a2),
        dict(_action=a2, audience="https://broker.example/\u00e9", _issuer="pdp-\u00fc"),
        dict(_iat=0),
        dict(_iat=2**40),
        dict(_jti="a" * 64, _cns="jti/with.dots+and=chars"),
        dict(_jti="", _cns="", _note="empty _jti/_cns are replaced by random values (`or`) -- "
                                     "NOT reproducible; recorded only the fact"),
    ]
    minted = []
    base_tokens = {}
    for i, spec in enumerate(mint_specs):
        spec = dict(spec)
        note = spec.pop("_note", None)
        ttl = spec.pop("_ttl", 45)
        act = spec.pop("_action", a1)
        issuer_name = spec.pop("_issuer", ISS)
        kwargs = dict(action_fingerprint=act.fingerprint, intent_hash=act.intent_hash,
                      audience=spec.pop("audience", AUD))
        kwargs.update(spec)
        kwargs.setdefault("_iat", IAT)
        kwargs.setdefault("_jti", f"jti-{i:04d}")
        kwargs.setdefault("_cns", f"cns-{i:04d}")
        issuer = TokenIssuer(issuer=issuer_name, private_key=priv, ttl_seconds=ttl)
        tok = issuer.mint(**kwargs)
        h, c, s = tok.split(".")
        rec = {"inputs": {"issuer": issuer_name, "ttl_seconds": ttl, **kwargs}, "kid": issuer.kid}
        if kwargs["_jti"] == "" or kwargs["_cns"] == "":
            claims = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
            rec.update(token=None, note=note,
                       observed_jti_len=len(claims["jti"]), observed_cns_len=len(claims["cns"]))
        else:
            rec.update(token=tok,
                       header_json=base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)).decode(),
                       claims_json=base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)).decode("utf-8"))
            if note:
                rec["note"] = note
        minted.append(rec)
        base_tokens[i] = tok

    kid = TokenIssuer(issuer=ISS, private_key=priv).kid

    def craft(header, claims, key=priv, sig=None, header_text=None, claims_text=None,
              hseg=None, cseg=None):
        hs = hseg if hseg is not None else b64u((header_text if header_text is not None
                                                  else canonical_json(header)).encode())
        cs = cseg if cseg is not None else b64u((claims_text if claims_text is not None
                                                  else canonical_json(claims)).encode())
        si = f"{hs}.{cs}"
        if sig is None:
            sig = b64u(key.sign(si.encode("ascii")))
        return f"{si}.{sig}"

    H = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    C = {"iss": ISS, "aud": AUD, "iat": IAT, "exp": IAT + 45, "jti": "jti-x", "cns": "cns-x",
         "fpr": a1.fingerprint, "iht": a1.intent_hash}
    T0 = base_tokens[0]
    exp0 = IAT + 45

    vcases = []

    def vc(name, token, *, audience=AUD, now=IAT + 1, leeway=60, seen=None, consumed=None,
           resolver=None, max_ttl=300, use_pub=True):
        rec = {"name": name, "token": token, "audience": audience, "now": now, "leeway": leeway,
               "max_ttl": max_ttl,
               "seen_jti": None if seen is None else sorted(seen),
               "consumed_cns": None if consumed is None else sorted(consumed),
               "key": "public_key" if resolver is None else "key_resolver",
               "key_resolver_kids": None if resolver is None else sorted(resolver)}
        seen_set = None if seen is None else set(seen)
        cns_set = None if consumed is None else set(consumed)
        kw = dict(audience=audience, now=now, leeway=leeway, seen_jti=seen_set,
                  consumed_cns=cns_set, max_ttl=max_ttl)
        if resolver is None:
            kw["public_key"] = pub
        else:
            kw["key_resolver"] = lambda k: resolver.get(k)
        try:
            claims = verify_token(token, **kw)
            rec.update(expect="accept", error=None, error_type=None, claims=claims)
        except Exception as e:
            rec.update(expect="reject", error=str(e), error_type=type(e).__name__, claims=None)
        mixed = lambda xs: sorted(xs, key=lambda x: (type(x).__name__, str(x)))  # noqa: E731
        rec["seen_jti_after"] = None if seen_set is None else mixed(seen_set)
        rec["consumed_cns_after"] = None if cns_set is None else mixed(cns_set)
        vcases.append(rec)

    # valid
    vc("valid", T0)
    for i in range(1, 12):
        if minted[i]["token"]:
            vc(f"valid_minted_{i}", minted[i]["token"])
    vc("valid_with_sets", T0, seen={"other"}, consumed={"other"})
    vc("valid_empty_sets", T0, seen=set(), consumed=set())
    vc("valid_resolver", T0, resolver={kid: pub})
    vc("valid_now_at_iat", T0, now=IAT)
    vc("valid_leeway_0_before_exp", T0, now=exp0 - 1, leeway=0)
    # exp boundary
    vc("exp_boundary_accept", T0, now=exp0 + 60 - 1)
    vc("exp_boundary_reject", T0, now=exp0 + 60)
    vc("exp_leeway0_at_exp", T0, now=exp0, leeway=0)
    vc("exp_leeway0_before", T0, now=exp0 - 1, leeway=0)
    vc("exp_leeway_10_accept", T0, now=exp0 + 9, leeway=10)
    vc("exp_leeway_10_reject", T0, now=exp0 + 10, leeway=10)
    vc("exp_negative_leeway", T0, now=exp0 - 5, leeway=-5)
    # iat in the future
    vc("iat_future_boundary_accept", T0, now=IAT - 60)
    vc("iat_future_boundary_reject", T0, now=IAT - 61)
    vc("iat_future_leeway0", T0, now=IAT - 1, leeway=0)
    vc("iat_far_future", craft(H, {**C, "iat": IAT + 10_000, "exp": IAT + 10_045}), now=IAT)
    # ttl
    vc("ttl_301", craft(H, {**C, "exp": IAT + 301}))
    vc("ttl_300", craft(H, {**C, "exp": IAT + 300}))
    vc("ttl_exceeds_custom_max", T0, max_ttl=44)
    vc("ttl_equals_custom_max", T0, max_ttl=45)
    vc("ttl_zero", minted[15]["token"], now=IAT)
    vc("ttl_negative", minted[16]["token"], now=IAT)
    vc("minted_ttl_600_clamped", minted[14]["token"], now=IAT + 299)
    # aud
    vc("aud_prefix", T0, audience="https://broker.example")
    vc("aud_longer", T0, audience=AUD + "/extra")
    vc("aud_trailing_slash", T0, audience=AUD + "/")
    vc("aud_case", T0, audience=AUD.upper())
    vc("aud_wildcard_claim", craft(H, {**C, "aud": "*"}))
    vc("aud_wildcard_audience", T0, audience="*")
    vc("aud_list_claim", craft(H, {**C, "aud": [AUD]}))
    vc("aud_unicode_ok", minted[18]["token"], audience="https://broker.example/\u00e9")
    vc("aud_unicode_nfd", minted[18]["token"], audience="https://broker.example/e\u0301")
    # alg
    vc("alg_none", craft({"alg": "none", "typ": "JWT"}, C, sig=""))
    vc("alg_none_signed", craft({"alg": "none", "typ": "JWT", "kid": kid}, C))
    raw_pub = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem_pub = pub_p.read_bytes()
    hs = craft({"alg": "HS256", "typ": "JWT"}, C, sig="x")
    si = hs.rsplit(".", 1)[0]
    vc("alg_hs256_rawkey_hmac", si + "." + b64u(hmac.new(raw_pub, si.encode(), hashlib.sha256).digest()))
    vc("alg_hs256_pem_hmac", si + "." + b64u(hmac.new(pem_pub, si.encode(), hashlib.sha256).digest()))
    vc("alg_hs256_eddsa_sig", craft({"alg": "HS256", "typ": "JWT"}, C))
    vc("alg_missing", craft({"typ": "JWT", "kid": kid}, C))
    vc("alg_lowercase", craft({"alg": "eddsa", "typ": "JWT", "kid": kid}, C))
    vc("alg_ed25519", craft({"alg": "Ed25519", "typ": "JWT", "kid": kid}, C))
    vc("alg_null", craft({"alg": None}, C))
    vc("alg_duplicate_none_then_eddsa", craft(None, C, header_text='{"alg":"none","alg":"EdDSA"}'))
    vc("alg_duplicate_eddsa_then_none", craft(None, C, header_text='{"alg":"EdDSA","alg":"none"}'))
    vc("header_minimal_alg_only", craft({"alg": "EdDSA"}, C))
    vc("header_extra_fields", craft({**H, "crit": ["x"], "jku": "https://evil"}, C))
    vc("header_typ_other", craft({**H, "typ": "at+jwt"}, C))
    # claims
    for missing in (["cns"], ["fpr", "iht"], ["iss"], ["aud"], ["exp"], list(C)):
        vc("missing_claims_" + "_".join(missing) if len(missing) < 8 else "missing_all_claims",
           craft(H, {k: v for k, v in C.items() if k not in missing}))
    vc("claims_array", craft(H, None, claims_text="[]"))
    vc("claims_string", craft(H, None, claims_text='"claims"'))
    vc("claims_null", craft(H, None, claims_text="null"))
    vc("claims_not_json", craft(H, None, claims_text="not json"))
    vc("claims_invalid_utf8", craft(H, None, cseg=b64u(b'{"iss":"\xff"}')))
    vc("claims_noncanonical_whitespace", craft(H, None, claims_text=json.dumps(C, indent=2)))
    vc("claims_duplicate_aud_bad_last", craft(H, None, claims_text=canonical_json(C)[:-1] + ',"aud":"x"}'))
    vc("claims_duplicate_aud_bad_first", craft(H, None, claims_text='{"aud":"x",' + canonical_json(C)[1:]))
    vc("claims_iat_float", craft(H, {**C, "iat": float(IAT)}))
    vc("claims_exp_string", craft(H, {**C, "exp": str(IAT + 45)}))
    vc("claims_iat_bool_true", craft(H, {**C, "iat": True, "exp": 45}), now=10)
    vc("claims_exp_bool", craft(H, {**C, "iat": 0, "exp": True}), now=0)
    vc("claims_big_ints", craft(H, {**C, "iat": 10**30, "exp": 10**30 + 1}), now=10**30)
    vc("claims_nan_exp", craft(H, None, claims_text=canonical_json(C).replace(f'"exp":{IAT + 45}', '"exp":NaN')))
    vc("claims_extra", craft(H, {**C, "zzz": {"nested": [1, 2.5]}}))
    vc("claims_jti_number", craft(H, {**C, "jti": 7, "cns": 8}), seen={"7"}, consumed={"8"})
    # header
    vc("header_not_json", craft(None, C, header_text="not json"))
    vc("header_empty", craft(None, C, hseg=""))
    vc("header_json_array", craft(None, C, header_text='["alg","EdDSA"]'))
    vc("header_json_string", craft(None, C, header_text='"EdDSA"'))
    vc("header_json_null", craft(None, C, header_text="null"))
    vc("header_invalid_utf8", craft(None, C, hseg=b64u(b'{"alg":"EdDSA","x":"\xff"}')))
    vc("header_bad_base64_length", craft(None, C, hseg="a"))
    # segments
    vc("two_segments", ".".join(T0.split(".")[:2]))
    vc("four_segments", T0 + ".extra")
    vc("four_segments_empty_tail", T0 + ".")
    vc("one_segment", T0.split(".")[0])
    vc("empty_token", "")
    vc("just_dots", "..")
    # signature
    vc("signature_other_key", craft(H, C, key=other))
    vc("signature_empty", craft(H, C, sig=""))
    vc("signature_truncated", T0[:-4])
    vc("signature_flipped_char", T0[:-6] + ("A" if T0[-6] != "A" else "B") + T0[-5:])
    vc("signature_with_padding", T0 + "==")
    vc("signature_std_alphabet", T0.rsplit(".", 1)[0] + "." + T0.rsplit(".", 1)[1].replace("-", "+").replace("_", "/"))
    vc("signature_bad_base64_length", T0.rsplit(".", 1)[0] + ".A")
    vc("payload_tampered", ".".join([T0.split(".")[0], b64u(canonical_json({**C, "aud": "x"}).encode()), T0.split(".")[2]]))
    # base64 leniency of Python's urlsafe_b64decode (non-validating), segment signed as-is
    hpad = base64.urlsafe_b64encode(canonical_json(H).encode()).decode()
    vc("header_segment_with_padding", craft(None, C, hseg=hpad if hpad.endswith("=") else hpad + "=="))
    vc("header_segment_with_junk_char", craft(None, C, hseg=b64u(canonical_json(H).encode())[:8] + "!" + b64u(canonical_json(H).encode())[8:]))
    vc("header_segment_with_newline", craft(None, C, hseg=b64u(canonical_json(H).encode())[:8] + "\n" + b64u(canonical_json(H).encode())[8:]))
    hb = b64u(canonical_json(H).encode())
    vc("header_segment_with_4_junk_chars", craft(None, C, hseg=hb[:8] + "!*~$" + hb[8:]))
    vc("header_segment_with_4_spaces", craft(None, C, hseg=hb[:8] + "    " + hb[8:]))
    hstd = base64.b64encode(canonical_json({**H, "x": "\u00ff\u00fe>>>???"}).encode()).decode().rstrip("=")
    vc("header_segment_std_alphabet", craft(None, C, hseg=hstd))
    vc("claims_segment_with_padding", craft(H, None, cseg=base64.urlsafe_b64encode(canonical_json(C).encode()).decode() + "="))
    # replay / single-use
    vc("replayed_jti", T0, seen={"jti-0000"})
    vc("consumed_cns", T0, consumed={"cns-0000"})
    vc("replayed_jti_and_consumed_cns", T0, seen={"jti-0000"}, consumed={"cns-0000"})
    vc("cns_in_seen_set_only", T0, seen={"cns-0000"})
    # kid
    vc("kid_absent_public_key", craft({"alg": "EdDSA", "typ": "JWT"}, C))
    vc("kid_absent_resolver", craft({"alg": "EdDSA", "typ": "JWT"}, C), resolver={kid: pub})
    vc("kid_unknown_resolver", craft({**H, "kid": "0000000000000000"}, C), resolver={kid: pub})
    vc("kid_number_resolver", craft({**H, "kid": 5}, C), resolver={kid: pub})
    vc("kid_wrong_public_key", craft({**H, "kid": "0000000000000000"}, C))
    vc("kid_other_key_resolver", craft({**H, "kid": TokenIssuer(issuer=ISS, private_key=other).kid}, C, key=other),
       resolver={kid: pub})
    # order of checks
    vc("order_expired_and_wrong_aud", T0, now=exp0 + 1000, audience="x")
    vc("order_ttl_and_expired", craft(H, {**C, "exp": IAT + 400}), now=IAT + 10_000)
    vc("order_bad_sig_and_missing_claims", craft(H, {"iss": ISS}, key=other))

    return {"issuer": ISS, "audience": AUD, "kid": kid, "key_files": ["tokens/token_key.pem", "tokens/token_key.pub"],
            "mint": minted, "verify": vcases}


# =========================================================================== #
# 5. keys.json
# =========================================================================== #
def build_keys(work: Path) -> list[dict]:
    out = []
    for i in range(5):
        d = work / f"k{i}"
        with seeded_generate(delego.audit, f"keys-json-{i}"):
            ensure_keys(d / "k.pem", d / "k.pub")
        priv_pem = (d / "k.pem").read_bytes().decode("ascii")
        pub_pem = (d / "k.pub").read_bytes().decode("ascii")
        priv = serialization.load_pem_private_key(priv_pem.encode(), password=None)
        pub = serialization.load_pem_public_key(pub_pem.encode())
        raw_priv = priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
        raw_pub = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        kid = delego.token._kid_for(pub)
        assert kid == TokenIssuer(issuer="x", private_key=priv).kid
        out.append({"private_pem": priv_pem, "public_pem": pub_pem, "kid": kid,
                    "raw_private_hex": raw_priv.hex(), "raw_public_hex": raw_pub.hex(),
                    "kid_preimage": raw_pub.hex(),
                    "signature_of_abc_hex": priv.sign(b"abc").hex()})
    return out


# =========================================================================== #
# 6. policy_validation.json
# =========================================================================== #
def build_policies(work: Path) -> list[dict]:
    M = {"method": "POST", "host": "api.example.com"}

    def R(**kw):
        r = {"name": "r", "match": dict(M), "decision": "allow"}
        r.update(kw)
        return {k: v for k, v in r.items() if v is not _DEL}

    def F(**kw):
        r = {"name": "f", "match": {"path_contains": "/admin"}}
        r.update(kw)
        return {k: v for k, v in r.items() if v is not _DEL}

    docs: list[tuple[str, object]] = [
        ("minimal_valid", {"default": "deny"}),
        ("full_valid", {"version": 1, "default": "deny",
                        "forbidden": [F(description="no admin")],
                        "rules": [R(description="d", constraints={
                            "amount": {"field": "amount", "max": 5000, "currency": "USD"},
                            "allow_list": {"field": "destination", "in": ["internal", "acme"]},
                            "rate_limit": {"max": 10, "per": "hour"}})]}),
        ("default_allow_valid_warns", {"default": "allow"}),
        ("default_needs_approval_valid_warns", {"default": "needs_approval", "rules": []}),
        ("empty_document", {}),
        ("unknown_top_level_one", {"default": "deny", "extra": 1}),
        ("unknown_top_level_several", {"default": "deny", "zeta": 1, "Alpha": 2, "\u00e9": 3, "beta": 4, "": 5}),
        ("missing_default", {"rules": []}),
        ("bad_default_string", {"default": "block"}),
        ("bad_default_case", {"default": "Deny"}),
        ("bad_default_null", {"default": None}),
        ("bad_default_number", {"default": 0}),
        ("bad_default_bool", {"default": True}),
        ("bad_default_list_crash", {"default": ["deny"]}),
        ("bad_default_dict_crash", {"default": {"deny": 1}}),
        ("version_0", {"default": "deny", "version": 0}),
        ("version_negative", {"default": "deny", "version": -1}),
        ("version_string", {"default": "deny", "version": "1"}),
        ("version_true", {"default": "deny", "version": True}),
        ("version_false", {"default": "deny", "version": False}),
        ("version_float", {"default": "deny", "version": 1.5}),
        ("version_float_integral", {"default": "deny", "version": 1.0}),
        ("version_null", {"default": "deny", "version": None}),
        ("version_2_valid", {"default": "deny", "version": 2}),
        ("version_big_valid", {"default": "deny", "version": 10**30}),
        ("rules_not_list_dict", {"default": "deny", "rules": {"name": "r"}}),
        ("rules_not_list_string", {"default": "deny", "rules": "r"}),
        ("rules_null", {"default": "deny", "rules": None}),
        ("forbidden_not_list", {"default": "deny", "forbidden": {"name": "f"}}),
        ("forbidden_null", {"default": "deny", "forbidden": None}),
        ("rule_string", {"default": "deny", "rules": ["r"]}),
        ("rule_int", {"default": "deny", "rules": [5]}),
        ("rule_list", {"default": "deny", "rules": [[R()]]}),
        ("rule_null", {"default": "deny", "rules": [None]}),
        ("rule_bool_float", {"default": "deny", "rules": [True, 1.5]}),
        ("rule_missing_name", {"default": "deny", "rules": [R(name=_DEL)]}),
        ("rule_empty_name", {"default": "deny", "rules": [R(name="")]}),
        ("rule_name_int", {"default": "deny", "rules": [R(name=5)]}),
        ("rule_name_zero", {"default": "deny", "rules": [R(name=0)]}),
        ("rule_name_list", {"default": "deny", "rules": [R(name=["r"])]}),
        ("rule_name_whitespace_valid", {"default": "deny", "rules": [R(name=" ")]}),
        ("rule_missing_match", {"default": "deny", "rules": [R(match=_DEL)]}),
        ("rule_match_null", {"default": "deny", "rules": [R(match=None)]}),
        ("rule_match_list", {"default": "deny", "rules": [R(match=["method"])]}),
        ("rule_match_string", {"default": "deny", "rules": [R(match="POST")]}),
        ("rule_match_empty_valid", {"default": "deny", "rules": [R(match={})]}),
        ("rule_match_unknown_one", {"default": "deny", "rules": [R(match={"method": "GET", "url": "x"})]}),
        ("rule_match_unknown_several", {"default": "deny", "rules": [R(match={"query": 1, "Host": 2, "scheme": 3, "\u00e9": 4})]}),
        ("rule_match_bad_value_types_valid", {"default": "deny", "rules": [R(match={"method": 5, "host": ["a"], "path": None})]}),
        ("rule_missing_decision", {"default": "deny", "rules": [R(decision=_DEL)]}),
        ("rule_decision_null", {"default": "deny", "rules": [R(decision=None)]}),
        ("rule_decision_deny", {"default": "deny", "rules": [R(decision="deny")]}),
        ("rule_decision_case", {"default": "deny", "rules": [R(decision="ALLOW")]}),
        ("rule_decision_number", {"default": "deny", "rules": [R(decision=1)]}),
        ("rule_decision_false", {"default": "deny", "rules": [R(decision=False)]}),
        ("rule_decision_empty_string", {"default": "deny", "rules": [R(decision="")]}),
        ("default_allow_plus_invalid_rule_warns_then_fails", {"default": "allow", "rules": [5]}),
        ("rule_decision_list_crash", {"default": "deny", "rules": [R(decision=["allow"])]}),
        ("rule_unknown_keys", {"default": "deny", "rules": [R(when="x", Name="y", priority=1)]}),
        ("rule_constraints_list", {"default": "deny", "rules": [R(constraints=["amount"])]}),
        ("rule_constraints_string", {"default": "deny", "rules": [R(constraints="amount")]}),
        ("rule_constraints_null_valid", {"default": "deny", "rules": [R(constraints=None)]}),
        ("rule_constraints_empty_valid", {"default": "deny", "rules": [R(constraints={})]}),
        ("constraints_unknown_keys", {"default": "deny", "rules": [R(constraints={"amount_max": 5, "Amount": {}, "time": 1})]}),
        ("amount_unknown_inner", {"default": "deny", "rules": [R(constraints={"amount": {"field": "amount", "maximum": 5, "cur": "USD"}})]}),
        ("amount_missing_field", {"default": "deny", "rules": [R(constraints={"amount": {"max": 5}})]}),
        ("amount_empty", {"default": "deny", "rules": [R(constraints={"amount": {}})]}),
        ("amount_not_mapping_valid", {"default": "deny", "rules": [R(constraints={"amount": 5000})]}),
        ("amount_max_string_valid", {"default": "deny", "rules": [R(constraints={"amount": {"field": "a", "max": "lots"}})]}),
        ("allow_list_unknown_inner", {"default": "deny", "rules": [R(constraints={"allow_list": {"field": "d", "in": [], "values": [1]}})]}),
        ("allow_list_missing_in", {"default": "deny", "rules": [R(constraints={"allow_list": {"field": "d"}})]}),
        ("allow_list_missing_both", {"default": "deny", "rules": [R(constraints={"allow_list": {}})]}),
        ("allow_list_in_not_list_valid", {"default": "deny", "rules": [R(constraints={"allow_list": {"field": "d", "in": "internal"}})]}),
        ("rate_limit_unknown_inner", {"default": "deny", "rules": [R(constraints={"rate_limit": {"max": 1, "window": "hour", "burst": 2}})]}),
        ("rate_limit_missing_max", {"default": "deny", "rules": [R(constraints={"rate_limit": {"per": "day"}})]}),
        ("rate_limit_per_invalid", {"default": "deny", "rules": [R(constraints={"rate_limit": {"max": 1, "per": "week"}})]}),
        ("rate_limit_per_case", {"default": "deny", "rules": [R(constraints={"rate_limit": {"max": 1, "per": "Hour"}})]}),
        ("rate_limit_per_null", {"default": "deny", "rules": [R(constraints={"rate_limit": {"max": 1, "per": None}})]}),
        ("rate_limit_per_number", {"default": "deny", "rules": [R(constraints={"rate_limit": {"max": 1, "per": 60}})]}),
        ("rate_limit_per_list_crash", {"default": "deny", "rules": [R(constraints={"rate_limit": {"max": 1, "per": ["hour"]}})]}),
        ("rate_limit_max_negative_valid", {"default": "deny", "rules": [R(constraints={"rate_limit": {"max": -1}})]}),
        ("rate_limit_all_problems", {"default": "deny", "rules": [R(constraints={"rate_limit": {"per": "fortnight", "x": 1}})]}),
        ("forbidden_unknown_keys", {"default": "deny", "forbidden": [F(decision="deny", constraints={})]}),
        ("forbidden_missing_name_and_match", {"default": "deny", "forbidden": [{"description": "x"}]}),
        ("forbidden_string", {"default": "deny", "forbidden": ["f"]}),
        ("forbidden_null_entry", {"default": "deny", "forbidden": [None]}),
        ("forbidden_match_unknown", {"default": "deny", "forbidden": [F(match={"url": "x"})]}),
        ("forbidden_match_not_mapping", {"default": "deny", "forbidden": [F(match="x")]}),
        ("multiple_problems", {"defualt": "deny", "version": "2", "rules": [
            "oops", R(name="", match={"uri": 1}, decision="maybe", constraints={"amount": {"maximum": 1}, "rate": 1}),
            R(match=_DEL, decision=_DEL, constraints=[1])],
            "forbidden": [F(name=None, match=[], extra=1), 7]}),
        ("multiple_rules_problems_indexing", {"default": "deny", "rules": [R(), R(decision="x"), R(), R(name="")],
                                              "forbidden": [F(), F(match=None)]}),
    ]
    out = []
    tmp = work / "policies"
    tmp.mkdir()
    for i, (name, doc) in enumerate(docs):
        path = tmp / f"policy_{i:03d}.yaml"
        text = json.dumps(doc, ensure_ascii=False)
        path.write_text(text, encoding="utf-8")
        import yaml
        assert yaml.safe_load(text) == doc or doc == {}, name  # YAML reads our JSON text faithfully
        rec = {"name": name, "document": doc}
        with warnings.catch_warnings(record=True) as wl:
            warnings.simplefilter("always")
            try:
                Policy.load(path)
                rec.update(valid=True, error=None, exception=None)
            except PolicyError as e:
                msg = str(e)
                rec.update(valid=False, error=msg.replace(str(path), "<SOURCE>"),
                           error_contained_path=str(path) in msg, exception=None)
            except Exception as e:
                rec.update(valid=False, error=None, exception=exc_str(e))
        rec["warnings"] = [str(w.message).replace(str(path), "<SOURCE>") for w in wl]
        # cross-check: the validator called directly with source="<SOURCE>" gives the same text
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                _validate_policy(doc, source="<SOURCE>")
                direct = None
            except PolicyError as e:
                direct = str(e)
            except Exception as e:
                direct = "EXC " + exc_str(e)
        if rec["error"] is not None or direct is not None:
            if rec["exception"] is None:
                assert direct == rec["error"], (name, direct, rec["error"])
        out.append(rec)

    # documents that are not mappings / YAML-only shapes (via Policy.load on raw YAML text)
    yaml_docs = [
        ("yaml_list_document", "- default: deny\n"),
        ("yaml_string_document", "deny\n"),
        ("yaml_int_document", "42\n"),
        ("yaml_null_document", "null\n"),
        ("yaml_empty_file", ""),
        ("yaml_mixed_type_unknown_keys_crash", "default: deny\n1: x\nzz: y\n"),
        ("yaml_int_unknown_key", "default: deny\n1: x\n"),
        ("yaml_invalid", "default: [deny\n"),
    ]
    for name, text in yaml_docs:
        path = tmp / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        rec = {"name": name, "document": None, "yaml_text": text, "yaml_only": True}
        with warnings.catch_warnings(record=True) as wl:
            warnings.simplefilter("always")
            try:
                Policy.load(path)
                rec.update(valid=True, error=None, exception=None)
            except PolicyError as e:
                msg = str(e)
                rec.update(valid=False, error=msg.replace(str(path), "<SOURCE>"),
                           error_contained_path=str(path) in msg, exception=None)
            except Exception as e:
                rec.update(valid=False, error=None, exception=exc_str(e))
        rec["warnings"] = [str(w.message).replace(str(path), "<SOURCE>") for w in wl]
        out.append(rec)
    return out


class _Del:
    def __repr__(self):
        return "<DEL>"


_DEL = _Del()


# =========================================================================== #
def main() -> None:
    assert delego.__version__ == REF_VERSION if hasattr(delego, "__version__") else True, \
        f"expected delego {REF_VERSION}"
    from importlib.metadata import version
    assert version("delego") == REF_VERSION, version("delego")

    with tempfile.TemporaryDirectory() as td:
        work = Path(td)
        canonical = build_canonical()
        actions = build_actions()
        build_chain(work)
        tokens = build_tokens(work)
        keys = build_keys(work)
        policies = build_policies(work)

        write_json(OUT / "canonical.json", canonical)
        write_json(OUT / "actions.json", actions)
        write_json(OUT / "tokens.json", tokens)
        write_json(OUT / "keys.json", keys)
        write_json(OUT / "policy_validation.json", policies)
        for sub in ("chain", "tokens"):
            dst = OUT / sub
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(work / sub, dst)
            for p in dst.iterdir():
                os.chmod(p, 0o644)

    print(f"canonical.json         {len(canonical)} cases")
    print(f"actions.json           {len(actions)} cases")
    print(f"tokens.json            {len(tokens['mint'])} minted, {len(tokens['verify'])} verify cases")
    print(f"keys.json              {len(keys)} keys")
    print(f"policy_validation.json {len(policies)} cases")
    cases = json.loads((OUT / "chain" / "cases.json").read_text())
    print(f"chain/cases.json       {len(cases)} cases, {len(list((OUT / 'chain').glob('*.jsonl')))} .jsonl files")


if __name__ == "__main__":
    sys.setrecursionlimit(1000)
    main()
