"""Makes text that came from a user's files safe to print.

Run names are folder names, and a folder name may hold anything a file
system allows: a newline (a fake line in the table), `|` (a fake Markdown
column), an ANSI escape (colours or cursor moves in a terminal), bidi
overrides that reorder what is shown, or bytes that are not UTF-8 (which
Python keeps as lone surrogates, and which fail to encode on output).
Every renderer passes such text through `printable` (and Markdown cells
through `markdown_cell`, CSV cells through `spreadsheet_cell`), so it is
shown, never obeyed.
"""

import math
import re
import unicodedata

# C0 and C1 controls, DEL, lone surrogates (undecodable bytes in a file
# name), line and paragraph separators, and the bidi embeddings, overrides
# and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match):
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char) or (
        f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def printable(text):
    """Returns `text` with every control or invisible-ordering character escaped.

    Example:

    >>> printable("run\\n| x \\x1b[31mred")
    'run\\\\n| x \\\\x1b[31mred'
    >>> printable("caf\\udce9")  # b"caf\\xe9" decoded by os.fsdecode
    'caf\\\\xe9'
    """
    text = str(text)
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text)


def markdown_cell(text):
    """Returns `text` safe inside a Markdown table cell: printable, `|` escaped.

    Example:

    >>> markdown_cell("a|b")
    'a\\\\|b'
    """
    return printable(text).replace("|", "\\|")


# What makes a spreadsheet (Excel, LibreOffice, Google Sheets) read a CSV cell as a formula: OWASP's list
# (CSV Injection), the characters a cell must not begin with.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """Returns a value as a CSV cell that a spreadsheet shows as it is and never evaluates.

    A run folder named `=HYPERLINK(...)` or `@A1` would be a live formula in
    the spreadsheet that opens the CSV. As OWASP advises against CSV
    injection, a text cell that begins with `=`, `+`, `-`, `@`, a tab or a
    carriage return (also after spaces) gets a leading `'`, which
    spreadsheets take to mean "text" and do not show. A finite number stays
    a number (`-0.25` is a number, not a formula); an infinite or NaN one
    becomes text; `None` an empty cell.

    Example:

    >>> [spreadsheet_cell(v) for v in ("=1+2", "@A1", " -3", "run-1", -0.25, float("-inf"), None)]
    ["'=1+2", "'@A1", "' -3", 'run-1', -0.25, "'-inf", '']
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value):
            return value
        value = repr(float(value))
    text = str(value)
    return "'" + text if text.lstrip(" ").startswith(_FORMULA_STARTS) else text


def display_width(text):
    """Returns the columns `text` takes in a terminal (wide East Asian characters count 2).

    Example:

    >>> display_width("run"), display_width("実験")
    (3, 4)
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
               for c in text)


def listing(names, most):
    """Returns the first `most` names, then how many more: `a, b and 3 more`.

    Example:

    >>> listing(["a", "b", "c", "d"], most=2), listing(["a"], most=2)
    ('a, b and 2 more', 'a')
    """
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")
