"""Bad content files: each is refused by ``kneefix content check`` with its file and field, fast.

Issue 11 (ASVS 5.1.3/5.1.4 input validation, 5.5.3 safe deserialisation): "``content check`` accepts rule
values of NaN, an 'ease' rule that raises the dose by 200 %, a floor above its ceiling and a misspelt
explanation placeholder; a recursive YAML alias gives a traceback and a 500-byte alias bomb hangs it."
Every case below passed (or crashed, or hung) before the fix.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kneefix.content import schemas
from kneefix.content.loader import check_content
from kneefix.content.technique import load_technique_cues
from kneefix.content.yaml_safe import load_yaml
from kneefix.errors import ContentError
from kneefix.programme import progression
from tests.cli.helpers import Kneefix, flat
from tests.content.helpers import copy_content, replace_in

RUNNERS = "protocols/runners_knee.yaml"
EASE_CHANGE = (
    "change: {target: dose_scale, op: percent, value: -20, floor: 0.5}\n"
    "    explain: >-\n      Your pain reached"
)
# Nine levels of nine aliases: ~500 bytes that expand to 9**9 (387 million) strings.
ALIAS_BOMB = 'x_bomb:\n  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"  {b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)

CASES = {
    "nan": (EASE_CHANGE, EASE_CHANGE.replace("-20", ".nan"), "rules[1].change.value", "finite number"),
    "infinite": (
        "value: 2, ceiling: 15}",
        "value: 2, ceiling: .inf}",
        "rules[7].change.ceiling",
        "finite number",
    ),
    "ease raising 200%": (
        EASE_CHANGE,
        EASE_CHANGE.replace("-20", "200"),
        "rules[1]",
        "must not raise any dose",
    ),
    "ease going harder": (
        "change: {target: phase, op: subtract, value: 1, floor: 0}",
        "change: {target: phase, op: subtract, value: -1, floor: 0}",
        "rules[0]",
        "must not raise any dose",
    ),
    "floor above ceiling": (
        "value: 2, ceiling: 15}",
        "value: 2, floor: 20, ceiling: 15}",
        "rules[7].change",
        "floor 20 is above ceiling 15",
    ),
    "minimum above maximum": (
        "      pain_during_min: 6\n",
        "      pain_during_min: 6\n      pain_during_max: 3\n",
        "rules[1].when",
        "pain_during_min 6 is above pain_during_max 3",
    ),
    "no dose left": (
        EASE_CHANGE,
        EASE_CHANGE.replace("-20", "-100"),
        "rules[1].change",
        "would leave no dose",
    ),
    "step up after a break": (
        "  ease_after_days: 14\n",
        "  ease_after_days: 14\n  ease: {target: dose_scale, op: percent, value: 10}\n",
        "after_break.ease",
        "must not raise any dose",
    ),
    "misspelt placeholder": (
        "after {flares} of",
        "after {flare} of",
        "rules[0].explain",
        "unknown placeholder {flare}",
    ),
    "recursive alias": ("\nrules:\n", "\nx_loop: &loop [*loop]\nrules:\n", "line ", "aliases"),
    "alias bomb": ("\nrules:\n", "\n" + ALIAS_BOMB + "rules:\n", "line ", "aliases"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_protocol_is_refused_with_file_and_field(kneefix: Kneefix, tmp_path: Path, case: str) -> None:
    """Issue 11 (ASVS 5.1.4): each bad value gives exit 1 and one line ``file: field: message``; the
    check finishes (a thread guards against the old hang) and prints no traceback."""
    old, new, field, words = CASES[case]
    root = copy_content(tmp_path)
    replace_in(root / RUNNERS, old, new)

    found: list[list[str]] = []
    worker = threading.Thread(target=lambda: found.append([str(p) for p in check_content(root)]), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert found, "content check did not finish"
    assert len(found[0]) == 1 and found[0][0].startswith(f"{RUNNERS}: {field}"), found[0]
    assert words in found[0][0]

    result = kneefix("content", "check", "--root", str(root))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{RUNNERS}: {field}" in flat(result.stdout) and words in flat(result.stdout)


def test_alias_bomb_is_small_and_refused_at_the_first_alias() -> None:
    """Issue 11 (ASVS 5.5.3): the bomb is ~500 bytes, and the loader stops at the first anchored value
    that an alias repeats (line 2)."""
    assert len(ALIAS_BOMB) < 600
    with pytest.raises(Exception, match="aliases") as caught:
        load_yaml(ALIAS_BOMB)
    assert caught.value.problem_mark.line + 1 == 2  # type: ignore[attr-defined]


def test_technique_cues_refuse_aliases_too(tmp_path: Path) -> None:
    """Issue 11: the technique cue file is read with the same loader, so an alias there is refused too."""
    path = tmp_path / "technique_cues.yaml"
    path.write_text("cues: &c\n  - *c\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"technique_cues\.yaml: not valid YAML at line 1: YAML anchors"):
        load_technique_cues(path)


def test_placeholders_have_one_definition() -> None:
    """Issue 11: the programme fills placeholders with the pattern the check reads, and only names the
    check allows."""
    assert progression.fill_explanation("{window} {flare}", {"window": 3}) == "3 {flare}"
    assert schemas.explain_placeholders("{window} {flare}") == {"window", "flare"}
    facts = progression.window_facts([], None)
    assert set(facts) <= schemas.EXPLAIN_PLACEHOLDERS
