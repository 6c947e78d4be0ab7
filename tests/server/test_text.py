"""Search keys fold case and diacritics, Vietnamese included."""

from __future__ import annotations

from server.text import search_key


def test_search_key_folds_case_marks_and_spaces() -> None:
    assert search_key("Nguyễn Thị  Ánh") == "nguyen thi anh"
    assert search_key("ĐẶNG Văn Đức") == "dang van duc"
    assert search_key("Łukasz Ørsted Straße") == "lukasz orsted strasse"
    assert search_key("  ") == ""
