"""Obligations: what someone owes the partnership by a date, and everything done with them.

The rest of the service talks to this package only:

* `documents` keeps obligations in step with the imported CAPs and MI sheets;
* `store` streams them with what is needed to assess them; `find` finds them by the name
  people use ("4.6", "3/17");
* `view` is how one reads to people, the one place that knows an action from an MI sheet;
* `assess` says where each stands on a day (an `Assessor` per unit of work); `explain`
  says why, step by step;
* `events` is the one way anything happens to one, whoever makes it happen;
* `stages` writes the daily record: stage changes, their reasons, resolutions, problems;
  `bring_up_to_date` is the one way to have it written, by the daily run or at once after
  anything that moves an item (`take_turn` first when the same transaction moves it);
* `reach` says whom an obligation can reach, and which obligations can reach a person;
* `preview` says what proposed rules would do to the items live, before they are saved;
* `recommendations` links a review's recommendations to the CAP actions that answer them.
"""

from worker.obligations.assess import Assessment, Assessor, Unassessed, assess
from worker.obligations.documents import keep_in_step, sync_obligations
from worker.obligations.events import (
    DOCUMENT,
    KINDS,
    EventRefusedError,
    completed,
    record_event,
)
from worker.obligations.explain import Explanation, explain
from worker.obligations.find import RefError, find
from worker.obligations.reach import Reach, officer_stage, owners_where
from worker.obligations.stages import (
    Moved,
    bring_up_to_date,
    reapply,
    record,
    record_each,
    take_turn,
)
from worker.obligations.store import engine_view, stream
from worker.obligations.view import SessionView, View, calendar_path, uid, view_of

__all__ = [
    "DOCUMENT",
    "KINDS",
    "Assessment",
    "Assessor",
    "EventRefusedError",
    "Explanation",
    "Moved",
    "Reach",
    "RefError",
    "SessionView",
    "Unassessed",
    "View",
    "assess",
    "bring_up_to_date",
    "calendar_path",
    "completed",
    "engine_view",
    "explain",
    "find",
    "keep_in_step",
    "officer_stage",
    "owners_where",
    "reapply",
    "record",
    "record_each",
    "record_event",
    "stream",
    "sync_obligations",
    "take_turn",
    "uid",
    "view_of",
]
