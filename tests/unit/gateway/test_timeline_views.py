from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import parse_qs, unquote, urlsplit

from arrears.gateway.timeline_views import (
    ACTIVITIES,
    TimelineQuery,
    entry_view,
    filter_rows,
    mailto,
    moment,
)
from arrears.gateway.upstream import TtlCache
from arrears.gateway.views import GridState, sort_rows


def test_the_timeline_query_keeps_known_types_and_valid_dates_only() -> None:
    asked = TimelineQuery.parse(
        {
            "tl_type": ["invoice", "bogus", "activity", "invoice"],
            "tl_from": ["2026-01-01"],
            "tl_to": ["not a date"],
            "tl_cursor": ["abc"],
            "tab": ["open"],
        }
    )
    assert asked == TimelineQuery(("invoice", "activity"), date(2026, 1, 1), None, "abc")
    assert asked.params(25) == {
        "limit": 25,
        "type": ["invoice", "activity"],
        "from": "2026-01-01",
        "cursor": "abc",
    }


def test_timeline_links_keep_the_pages_other_parameters_and_replace_the_cursor() -> None:
    query = {"tab": ["disputed"], "tl_type": ["letter"], "tl_cursor": ["old"]}
    asked = TimelineQuery.parse(query)
    link = asked.next_link("/companies/usmf/customers/C-1", query, "new")
    assert link is not None and link.endswith("#panel-timeline")
    params = parse_qs(urlsplit(link).query)
    assert params == {"tab": ["disputed"], "tl_type": ["letter"], "tl_cursor": ["new"]}
    assert asked.next_link("/", query, None) is None
    assert "tl_cursor" not in asked.first_link("/", query)
    assert asked.hidden(query) == [("tab", "disputed")]


def test_an_activity_entry_shows_its_memo_as_a_text_to_reveal() -> None:
    view = entry_view(
        {
            "type": "activity",
            "date": "2026-06-01",
            "sequence": 7,
            "details": {
                "purpose": "Call",
                "kind": "task",
                "state": "open",
                "overdue": True,
                "memo": "<b>hi</b>",
            },
        }
    )
    assert view["type_name"] == "Activity"
    assert view["description"] == "Call, task, open, overdue"
    assert view["texts"] == [("Memo", "<b>hi</b>")]


def test_a_status_change_says_from_what_to_what_with_its_note() -> None:
    view = entry_view(
        {
            "type": "status_change",
            "details": {"status": "disputed", "previous_status": "not_disputed", "note": "price"},
        }
    )
    assert view["description"] == "not disputed → disputed"
    assert view["texts"] == [("Note", "price")]


def test_letters_and_reprints_link_the_document_the_notifier_rendered() -> None:
    letter = entry_view({"type": "letter", "details": {"letter_id": "CL-7"}})
    reprint = entry_view(
        {
            "type": "reprint",
            "event_id": "01a23c85-5c33-7165-8412-5b16927b3500",
            "details": {"copy_kind": "copy", "channel": "print"},
        }
    )
    status = entry_view({"type": "status_change", "event_id": "x", "details": {}})
    assert letter["letter_id"] == "CL-7"
    assert reprint["letter_id"] == "reprint-01a23c85-5c33-7165-8412-5b16927b3500"
    assert status["letter_id"] is None


def test_activities_are_filtered_case_insensitively_and_sorted_oldest_due_first() -> None:
    rows = [
        {"due": "2026-06-03T00:00:00Z", "purpose": "Call back", "kind": "task"},
        {"due": "2026-06-01T00:00:00Z", "purpose": "call first", "kind": "task"},
        {"due": "2026-06-02T00:00:00Z", "purpose": "Visit", "kind": "appointment"},
    ]
    state = GridState.parse(ACTIVITIES, {"ac_f_purpose": "CALL"})
    kept = sort_rows(filter_rows(rows, state), state)
    assert [r["purpose"] for r in kept] == ["call first", "Call back"]
    state = GridState.parse(ACTIVITIES, {"ac_f_kind": "Appointment"})
    assert [r["purpose"] for r in filter_rows(rows, state)] == ["Visit"]


def test_the_mailto_link_encodes_subject_and_body_with_crlf_line_breaks() -> None:
    link = mailto("ap@example.com", "Invoice 1 & 2?", "Dear Pat,\nplease pay.\n")
    parts = urlsplit(link)
    assert parts.scheme == "mailto" and unquote(parts.path) == "ap@example.com"
    assert "Invoice%201%20%26%202%3F" in link and "%0D%0A" in link
    query = parse_qs(parts.query)
    assert query["subject"] == ["Invoice 1 & 2?"]
    assert query["body"] == ["Dear Pat,\r\nplease pay.\r\n"]
    assert mailto(None, "s", "b").startswith("mailto:?subject=s")


def test_the_ttl_cache_forgets_after_its_time_and_when_full() -> None:
    clock = [100.0]
    cache = TtlCache(30, size=2, now=lambda: clock[0])
    cache.put("a", 1)
    assert cache.get("a") == 1 and cache.get("b") is None
    clock[0] += 30
    assert cache.get("a") is None
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") is None and cache.get("c") == 3
    off = TtlCache(0)
    off.put("a", 1)
    assert off.get("a") is None


def test_a_timestamp_of_another_service_reads_as_utc() -> None:
    assert moment("2026-06-15T12:00:00+02:00") == datetime(2026, 6, 15, 10, tzinfo=UTC)
    assert moment("not a time") == "not a time" and moment(None) is None
