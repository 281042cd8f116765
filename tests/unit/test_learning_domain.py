from replyloop.domain.learning import KNOWN_CATEGORIES, MAX_CATEGORIES, OTHER_CATEGORY, merge_category


def test_a_models_category_is_normalised_and_merged_into_a_known_one_in_other_words():
    assert merge_category("Too Generic!", KNOWN_CATEGORIES) == "too generic"
    assert merge_category("<b>ignored the customer context</b>", KNOWN_CATEGORIES) == "ignored customer context"
    assert merge_category("x" * 500, KNOWN_CATEGORIES) == "x" * 48


def test_new_categories_stop_at_the_limit_and_count_as_other():
    known = [f"category {n}" for n in range(MAX_CATEGORIES - 1)]
    assert merge_category("shipping promise broken", known) == "shipping promise broken"
    full = [*known, "shipping promise broken"]
    assert merge_category("refund amount wrong", full) == OTHER_CATEGORY
    assert merge_category("Category 3", full) == "category 3"  # a known one is still itself
