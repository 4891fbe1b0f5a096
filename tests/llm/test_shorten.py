"""`MARATANG_LLM_SHORTEN`: its steps, read and checked, and the step a queue reaches."""

from __future__ import annotations

import pytest

from llm.shorten import Step, parse_steps, step_for


def test_steps_are_read_in_order_and_an_empty_setting_never_shortens() -> None:
    steps = parse_steps(" 4:0.75 , 8:0.5 ")
    assert steps == (Step(4, 0.75), Step(8, 0.5))
    assert [step.label for step in steps] == ["0.75", "0.5"]
    assert parse_steps("") == ()
    assert parse_steps(" , ") == ()


def test_the_step_reached_is_the_last_one_the_queue_is_at_least() -> None:
    steps = parse_steps("4:0.75,8:0.5")
    assert [step_for(steps, waiting) for waiting in (0, 3, 4, 7, 8, 50)] == [
        None,
        None,
        Step(4, 0.75),
        Step(4, 0.75),
        Step(8, 0.5),
        Step(8, 0.5),
    ]
    assert step_for((), 100) is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("4", "write each step as waiting:share"),
        ("four:0.5", "write each step as waiting:share"),
        ("4:half", "write each step as waiting:share"),
        ("4:0.5:1", "write each step as waiting:share"),
        ("0:0.5", "waiting must be 1 or more"),
        ("4:0", "the share above 0 and below 1"),
        ("4:1", "the share above 0 and below 1"),
        ("4:1.5", "the share above 0 and below 1"),
        ("4:nan", "the share above 0 and below 1"),
        ("8:0.5,4:0.75", "each step needs more waiting narrations and a smaller share"),
        ("4:0.5,8:0.75", "each step needs more waiting narrations and a smaller share"),
        ("4:0.5,4:0.25", "each step needs more waiting narrations and a smaller share"),
    ],
)
def test_bad_steps_are_refused_saying_what_is_wrong(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        parse_steps(text)
