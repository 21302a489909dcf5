"""Personal data: the record classes of the partnership's retention schedule, and which class
each table and kept file belongs to, with the personal data it holds and who can see it
(`classes.py`). It is the data map a data protection impact assessment starts from
(docs/data-map.md, checked against it and the models by the tests).

`people.py` finds a person in the rows through that map; `subject_access.py` gives them
everything held about them, `erasure.py` pseudonymises a leaver; `retention.py` reviews what
the schedule makes due and destroys what a review listed, holds kept.

What the rest may call: `CLASSES`, `TABLES`, `FILES`, `subject_access.export`,
`erasure.erase`, `retention.review` and `retention.apply`.
"""

from worker.privacy.classes import CLASSES, FILES, TABLES, Held, RecordClass

__all__ = ["CLASSES", "FILES", "TABLES", "Held", "RecordClass"]
