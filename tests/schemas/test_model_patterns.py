"""Which models a key's allowed_models admit."""
import pytest

from schemas import model_patterns
from schemas.model_patterns import InvalidPatterns, allows


def test_no_list_allows_every_model():
    assert allows(None, "gpt-4o")


def test_an_exact_id_allows_only_itself():
    assert allows(("gpt-4o",), "gpt-4o")
    assert not allows(("gpt-4o",), "gpt-4o-mini")


def test_a_star_matches_any_run_of_characters():
    assert allows(("deepseek-*",), "deepseek-chat")
    assert not allows(("deepseek-*",), "openai/deepseek-chat")


def test_dots_in_a_pattern_are_literal():
    assert not allows(("gpt-4.1",), "gpt-401")


def test_stored_patterns_load_back_as_a_tuple():
    assert model_patterns.load(model_patterns.dump(["a", "b-*"])) == ("a", "b-*")
    assert model_patterns.load(None) is None


def test_duplicates_are_dropped_in_order():
    assert model_patterns.validate(["b", "a", "b"]) == ["b", "a"]


@pytest.mark.parametrize("bad", ["gpt-4o", [], [1], ["a b"], ["x" * 101], [None], ["a"] * 101, {"a": 1}])
def test_anything_but_a_short_list_of_ids_is_refused(bad):
    with pytest.raises(InvalidPatterns):
        model_patterns.validate(bad)
