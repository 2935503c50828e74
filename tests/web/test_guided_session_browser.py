"""The guided session in a phone-sized browser: each side in turn with a switch, a timed hold per rep,
a rep counter that stops at the target, rests that start by themselves, and progress that survives a
reload. Timers run at 1/20 speed (the server fixture's ``timer_scale``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_layout_browser import SIZES, _close_pages, _signed_in_page, server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def _wait_idle(page: Any, card: Any) -> None:
    """Until no hold, relax, switch or rest timer runs on this card."""
    page.wait_for_function("el => el.textContent === ''", arg=card.locator("[data-timer]").element_handle())


def _status(card: Any) -> str:
    return str(card.locator("[data-status]").inner_text())


def test_held_reps_each_side_in_turn_and_a_reload_keeps_the_place(browser: Any, server: str) -> None:  # noqa: F811
    page, errors = _signed_in_page(browser, server, SIZES["phone"])
    page.goto(server + "/today")
    card = page.locator("[data-exercise][data-per-side='1'][data-hold][data-reps]").first
    exercise = card.get_attribute("data-exercise")
    reps = int(card.get_attribute("data-reps") or 0)
    sets = int(card.get_attribute("data-sets") or 0)
    assert reps >= 4 and sets >= 2
    button = card.locator("[data-rep]")
    assert _status(card) == f"Set 1 of {sets} - left side"
    # Record what the timer shows: a rep is a timed hold, then a short relax, and only then counts.
    card.locator("[data-timer]").evaluate(
        "el => { window.seen = []; new MutationObserver(() => window.seen.push(el.textContent))"
        ".observe(el, {childList: true, characterData: true, subtree: true}); }"
    )
    button.click()
    # The hold's timer may draw its first tick a moment after the click on a loaded machine: wait for
    # the button to be held (or, once the hold is over, for the rep to count).
    page.wait_for_function(
        "card => card.querySelector('[data-rep]').disabled"
        " || card.querySelector('[data-rep-count]').textContent.startsWith('1 /')",
        arg=card.element_handle(),
    )
    _wait_idle(page, card)
    seen = page.evaluate("window.seen")
    assert any(text.startswith("Hold") for text in seen) and any(text.startswith("Relax") for text in seen)
    assert card.locator("[data-rep-count]").inner_text() == f"1 / {reps} reps"
    for _ in range(reps - 1):
        _wait_idle(page, card)
        button.click()
    # The last rep of the left side: a switch-sides countdown, then the right side from zero.
    page.wait_for_function(
        "el => el.textContent.startsWith('Switch sides')", arg=card.locator("[data-timer]").element_handle()
    )
    _wait_idle(page, card)
    assert _status(card) == f"Set 1 of {sets} - right side"
    assert card.locator("[data-rep-count]").inner_text() == f"0 / {reps} reps"
    for _ in range(2):
        button.click()
        _wait_idle(page, card)
    page.reload()
    card = page.locator(f"[data-exercise='{exercise}']")
    assert _status(card) == f"Set 1 of {sets} - right side"
    assert card.locator("[data-rep-count]").inner_text() == f"2 / {reps} reps"
    button = card.locator("[data-rep]")
    for _ in range(reps - 2):
        _wait_idle(page, card)
        button.click()
    # The set is done: the rest starts by itself, and the next set begins on the left side.
    page.wait_for_function(
        "el => el.classList.contains('resting')", arg=card.locator("[data-timer]").element_handle()
    )
    assert _status(card) == f"Set 2 of {sets} - left side"
    assert errors == []


def test_the_rep_counter_stops_at_the_target_and_the_exercise_completes(browser: Any, server: str) -> None:  # noqa: F811
    page, errors = _signed_in_page(browser, server, SIZES["phone"])
    page.goto(server + "/today")
    card = page.locator("[data-exercise][data-reps]:not([data-hold])").first
    if card.count() == 0:
        card = page.locator("[data-exercise][data-reps]").first
    sets = int(card.get_attribute("data-sets") or 0)
    for _ in range(sets):
        _wait_idle(page, card)
        card.locator("[data-set-done]").click()
    assert _status(card) == f"All {sets} sets done"
    assert card.locator("[data-rep]").is_disabled() and card.locator("[data-set-done]").is_disabled()
    assert card.locator("[data-done]").is_checked()
    assert errors == []


def test_a_timed_exercise_each_side_switches_and_starts_the_other_side_by_itself(
    browser: Any,
    server: str,  # noqa: F811
) -> None:
    page, errors = _signed_in_page(browser, server, SIZES["phone"])
    page.goto(server + "/today")
    card = page.locator("[data-exercise][data-per-side='1'][data-seconds]").first
    timer = card.locator("[data-timer]")
    card.locator("[data-timer-start]").click()
    assert timer.inner_text().startswith("Go, left side")
    page.wait_for_function("el => el.textContent.startsWith('Switch sides')", arg=timer.element_handle())
    page.wait_for_function("el => el.textContent.startsWith('Go, right side')", arg=timer.element_handle())
    sets = int(card.get_attribute("data-sets") or 0)
    if sets > 1:
        page.wait_for_function("el => el.classList.contains('resting')", arg=timer.element_handle())
        assert _status(card) == f"Set 2 of {sets} - left side"
    else:
        page.wait_for_function("el => el.textContent === ''", arg=timer.element_handle())
        assert _status(card) == "Done"
    assert errors == []
