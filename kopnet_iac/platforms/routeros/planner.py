"""Plan: ordered operations that turn a running config into the intended one, plus the revert.

Plan scripts use exactly this subset of RouterOS script (one command per line, absolute paths,
no continuations; lines starting with ``#`` are comments):

* ``/path add k=v ...`` - new list entry; on ordered paths optionally
  ``place-before=[ find where ... ]`` (insert before the single entry that matches);
* ``/path set [ find where k1=v1 k2=v2 ] k=v ... !k ...`` - change every entry matching all
  conditions; a bare ``!k`` word unsets property ``k`` (back to its default);
* ``/path set <number> k=v ...`` - only for items an export itself addresses by number
  (``/port set 0 ...``);
* ``/path set k=v ... !k`` - singleton menus (``/system identity``, ``/ip dns`` ...);
* ``/path remove [ find where ... ]`` - remove every entry matching.

``find where`` conditions are only ``key=value`` words joined by spaces (AND); a value ``""``
matches an entry where the key is absent or empty; ``default=yes`` selects built-in default
entries. Values are quoted and escaped as in exports. Moves are never used: an entry out of
place on an ordered path is removed and added again with ``place-before``.
"""

from __future__ import annotations
