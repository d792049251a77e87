"""File names from tipsters, made harmless: the rule every place that keeps or shows one builds on.

A name arrives as the tipster's device (or a hostile client) gave it: it may carry directories
(``../../etc/passwd``, ``C:\\Users\\me\\chat.txt``), control characters, bidi overrides that
make ``evil\\u202egnp.exe`` read as ``evilexe.png``, and any length. :func:`base_name` takes away
the directories and the characters that control or disguise text; each use adds what its own
destination needs on top:

- the intake (``app.services.intake.clean_filename``, and ``cleanFilename`` in
  ``static/js/upload.mjs``, which must agree) caps the length and names an empty result;
- a download's ``Content-Disposition`` (``app.web.staff.attachment_disposition``) adds an ASCII
  fallback and percent-encodes the rest;
- an offline bundle's files on disk (:func:`crypto.bundle.filenames.sanitise_filename`) add the
  rules of Windows and macOS file systems.
"""

from __future__ import annotations

import unicodedata


def base_name(untrusted_name: str) -> str:
    """The last ``/`` or ``\\`` component of ``untrusted_name``, without any character of
    Unicode category C (controls, format and bidi marks, surrogates, private-use and unassigned
    code points), and without surrounding whitespace.

    Never raises; the result may be empty, and its length is not limited: callers decide both.
    """
    component = untrusted_name.replace("\\", "/").rsplit("/", 1)[-1]
    visible = "".join(ch for ch in component if unicodedata.category(ch)[0] != "C")
    return visible.strip()
