#!/usr/bin/env python3
"""Write src/eval/atom_table.tsv: what Python computes for the atom operations
that src/eval/atom_tests.rs checks RASP's atoms against.

    python3 scripts/atom_table.py

Every expected value is Python's own result, written as its repr, with two
conventions: an int beyond 64 bits is `!Overflow` (RASP ints are 64-bit), and
an exception is `!Kind`, the RASP error it stands for (see `outcome`). RASP's
`^` is Python's `**`. The output depends only on the Python version (its
Unicode tables decide which characters `repr` escapes), written in its header.
"""

import math
import operator
import struct
import sys
import unicodedata
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "eval" / "atom_table.tsv"

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
INF, NAN = math.inf, math.nan

# Operands of the binary table, each paired with each (left, then right).
OPERANDS = [
    True, False, 0, 1, -1, 3, -7, 2**62, I64_MAX, I64_MIN, 2**53 + 1,
    0.0, -0.0, 0.5, -7.5, 1e300, INF, -INF, NAN, "", "ab", 2.0**53, 2.0**63,
]

# Inputs of the unary table: the operands above, then rounding ties, floats
# near the ends of the 64-bit ints, and strings for `int` and `float`.
UNARY_INPUTS = OPERANDS + [
    2.5, 3.5, -0.5, -2.5, 2.7, -2.7, 1e19, -9.3e18, 9.2e18, 1.5,
    "12", " 12 ", "1.5", "1e3", "a", "True", "False", " -3_0 ", "inf",
    "-Infinity", "nan", "1_e5", ".5", "1.", "\u0663", "\xa02\u3000", "\x1c2",
    "9223372036854775808", "-9223372036854775808", "1e400", "0x10", " ",
]

# Floats for `repr(x)` and `str(round(x, 3))`: edge cases, then random ones.
FLOATS = [
    0.0, -0.0, 1e+16, 1e-05, 0.30000000000000004, 0.3333333333333333, 5e-324,
    1.7976931348623157e+308, 123456789.0, 100.0, 1e+22, 9999999999999998.0, 0.0001,
    0.0001234, 1000000000000000.0, 1.2345678901234568e+17, 2.5e-07, -1.5, INF, -INF,
    NAN, 1.5e-323, 1.4142135623730951, 3.141592653589793e+100, 1e+23, 0.001, 4.35,
    2.675, 0.0625, 0.0005, 1.0005, 0.0015, -0.0004, 0.0004, 0.6666666666666666,
    -0.6666666666666666, 1e+20, 123.4565, 1e-300, -1e-300, 12345.6789, 0.9995,
    0.9994999, 99.9995, 89573072.12181264, 3018689460797.0747, 6.425485839826166e-09,
    -2.686221661748289e-07, 8.194081262862045e-10, -9.250086831160303,
    -163655697258481.06, -818.5739733122699, -881778987842021.8,
    -7.523960777007088e+23, 26.125183146347418, 8.954178849140114e+24,
    1.7108284528077355e+23, 9.5251021118584e-10, 1.1332979587418524e-11,
    -4.207814273366475e-05, 8.137177106428495e-05, -3.8303635179613125e+23,
    -0.07938885751128173, 2.778269378523681e+23, -80513884801.05333,
    1.2873658626677332e-09, -0.07171009773016435, -1.4481538866119427e+21,
    -6879626.8320651995, -2.7683528811086732e+16, 588.7589630449824,
    -836.2899784084603, 503930.07622902887, 458890578.8784352, 217918.0380728072,
    -7.638684434900759e-09, -67007579271285.36, -696030930.6789905,
    -1.5660329104651139e+18, 5.291417324256262e-09, 5.7818834298070975e+23,
    -31975527.5617609, 1887397542.1003685, 5.937839516431887e+24, 6.799355610250828e-09,
    -5180.3325160711065, -8.786611448055607e-09, 2942577.0905533754,
    -4308089358117015.5, 774080584476.1836, -9548741438.88823, -2.8907178091930796e+16,
    -1.2614010886037087e-07, 5.364659769450415, 4.767267591895883e-05,
    -2181005937335.4585, -8.388373975997228e+18, -1967114873313917.8, 76676.7652883025,
    727968939397030.4, 41279.34189930038, 3654461187.749032, 915462407927.9825,
    -0.0008340306106773359,
]

# Strings for `repr(s)`: quote choice, escapes, and characters that
# `str.isprintable` rejects or accepts.
STRINGS = [
    "", "abc", "it's", 'say "hi"', "both ' and \"", "back\\slash", "tab\there",
    "nl\nx", "\x00\x1f\x7f", "\x80\x9f", "\xe9 \xf1 \u4e2d\u6587", "\xa0\xad",
    "\u2028\u2029", "\ufeff", "\U0001f600", "\U000e0001", "\ue000", "\u0378",
    "\U0010ffff", "a'b\"c'",
]

# Pairs of 64-bit ints for `a / b`, which Python rounds correctly: edge cases,
# then random ones.
INTS_TO_DIVIDE = [
    (4611686018427387905, 3),
    (9223372036854775807, 7),
    (-9223372036854775808, 3),
    (9223372036854775807, 9223372036854775807),
    (1, -9223372036854775808),
    (9007199254740993, 1),
    (9007199254740993, 2),
    (12345678901234567, 10),
    (-9223372036854775808, -1),
    (1611965628600829264, -5789073693455906733),
    (2480216081659408167, -405229859528),
    (-8124847963522755701, 228),
    (6316665635204570659, 910898090719),
    (237679754525500006, -780),
    (8449390742532229802, -563),
    (-1479587442599290165, 594),
    (-3482567574388009709, 8560695244987881089),
    (3818771757416007646, -320031657082),
    (-5748273510897289376, 4971803421429295944),
    (-9214685284195738259, 1710762589290258502),
    (-5289726135381802516, -184296543401),
    (-4740574788790557574, -539219365311),
    (6761205223810644192, -94882597585),
    (4157729464033157960, 406),
    (-7775342987445192727, -50443623581),
    (-1999424667602955837, -166029779400522735),
    (-4054236612123764734, 533),
    (-1001556298299129784, -423),
    (7211574352019372575, 208),
    (-7842934665758573276, -347),
    (-2921704683754120217, 3415340006820922269),
    (2008239949323680995, 607008371675),
    (1493317031803763975, -365),
    (-7141012472453525539, 835),
    (339320932858063531, 351),
    (-4768783943916308676, 3060297520218253921),
    (-5272277002955960892, -5351537942470506439),
    (-7142037387067258791, 6103956416178813089),
    (-8642561909345256971, 136187532835),
    (1181310730731823425, -69),
    (5151332369378498093, -7096373202605967877),
    (-5569988460124902749, -635),
    (3950756906819900708, 594),
    (-5092725203545414215, -234275278315),
    (7562526183215581543, -669474207564480957),
    (-6945493118536339040, 266190727957),
    (6563046520585743619, 405620582035),
    (4948034710302489822, 7743169980527107010),
    (610992470494473900, 1068931197541),
]


def power(x, y):
    """RASP's `^`: Python's `**`, without building an int of billions of bits
    when its only use is to be recorded as `!Overflow`."""
    if isinstance(x, int) and isinstance(y, int) and y > 64 and abs(x) > 1:
        return 1 << 64  # |x| ** y >= 2 ** 65: beyond 64 bits all the same
    return x**y


def multiply(x, y):
    """Python's `*`, without allocating a repeated string of petabytes: Python
    raises OverflowError past sys.maxsize characters and MemoryError short of
    it, both `!Overflow`."""
    for s, n in ((x, y), (y, x)):
        if isinstance(s, str) and isinstance(n, int) and len(s) * n > 2**32:
            raise MemoryError
    return x * y


# RASP's binary operators, in the order of the table's columns.
BINARY = [
    ("^", power),
    ("*", multiply),
    ("/", operator.truediv),
    ("%", operator.mod),
    ("+", operator.add),
    ("-", operator.sub),
    ("==", operator.eq),
    ("!=", operator.ne),
    ("<", operator.lt),
    (">", operator.gt),
    ("<=", operator.le),
    (">=", operator.ge),
    ("and", lambda x, y: x and y),
    ("or", lambda x, y: x or y),
]

# RASP's unary operators and conversions, in the order of the table's columns.
UNARY = [
    ("-x", operator.neg),
    ("+x", operator.pos),
    ("not x", operator.not_),
    ("round(x)", round),
    ("int(x)", int),
    ("float(x)", float),
    ("bool(x)", bool),
    ("str(x)", str),
]


def show(value):
    """A result as the table writes it: its repr, which tells the types apart
    (`1`, `1.0`, `True`, `'1'`), or `!Overflow` for an int beyond 64 bits and
    `!Complex` for a complex number (a negative number to a fractional power)."""
    if isinstance(value, complex):
        return "!Complex"
    if isinstance(value, int) and not I64_MIN <= value <= I64_MAX:
        return "!Overflow"
    assert isinstance(value, (bool, int, float, str)), value
    return repr(value)


def outcome(function, *args):
    """`show` of what `function(*args)` returns, or the RASP error for the
    exception it raises."""
    try:
        return show(function(*args))
    except ZeroDivisionError:
        return "!DivisionByZero"
    except TypeError:
        return "!Unsupported"
    except (OverflowError, MemoryError):
        return "!Overflow"
    except ValueError as error:
        if str(error) == "cannot convert float NaN to integer":
            return "!NotANumber"
        return "!Invalid"


def float_bits(x):
    """The bits of a float in hex, `0x3ff0000000000000` for 1.0."""
    return f"{struct.unpack('<Q', struct.pack('<d', x))[0]:#018x}"


def tables():
    """The rows of each table, fields as strings."""
    binary = [
        [repr(x), repr(y)] + [outcome(f, x, y) for _, f in BINARY]
        for x in OPERANDS
        for y in OPERANDS
    ]
    unary = [[repr(x)] + [outcome(f, x) for _, f in UNARY] for x in UNARY_INPUTS]
    floats = [[float_bits(x), repr(x), str(round(x, 3))] for x in FLOATS]
    strings = [[ascii(s), repr(s)] for s in STRINGS]
    int_div = [
        [repr(a), repr(b), outcome(operator.truediv, a, b)] for a, b in INTS_TO_DIVIDE
    ]
    return {
        "binary": binary,
        "unary": unary,
        "float": floats,
        "str": strings,
        "int_div": int_div,
    }


def main():
    data = tables()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    binary_ops = " ".join(name for name, _ in BINARY)
    unary_ops = ", ".join(name for name, _ in UNARY)
    lines = [
        f"# Generated by `python3 scripts/atom_table.py` (Python {version}, Unicode "
        f"{unicodedata.unidata_version}); do not edit by hand.",
        "# A line is a table name and tab-separated fields: Python reprs, or `!Kind`",
        "# for an error (an int beyond 64 bits is `!Overflow`).",
        "# rows: " + ", ".join(f"{name} {len(rows)}" for name, rows in data.items()),
        f"# binary: x, y, then x op y for op in: {binary_ops}",
        f"# unary: x, {unary_ops}",
        "# float: the bits of x, repr(x), str(round(x, 3))",
        "# str: ascii(s), repr(s)",
        "# int_div: a, b, a / b",
    ]
    for name, rows in data.items():
        for row in rows:
            assert all("\t" not in field and "\n" not in field for field in row), row
            lines.append("\t".join([name] + row))
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


if __name__ == "__main__":
    main()
