"""How sure the model was of a draft, 0-1.

With token logprobs: the geometric mean of the tokens' probabilities, `exp(mean(logprob))` - the
probability the model gave the average token. It does not shrink with length the way the product of
probabilities would, and one uncertain token in a long reply lowers it only a little.

Without logprobs (reasoning models return none): sampled agreement - the mean pairwise similarity
(difflib's ratio over words) of two or three independent samples. A model that says the same thing
each time is confident; one that says something different each time is not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from difflib import SequenceMatcher
from itertools import combinations


def confidence_from_logprobs(logprobs: Sequence[float]) -> float | None:
    if not logprobs:
        return None
    mean = sum(logprobs) / len(logprobs)
    return max(0.0, min(1.0, math.exp(mean)))


def agreement(samples: Sequence[str]) -> float | None:
    if len(samples) < 2:
        return None
    pairs = list(combinations([s.lower().split() for s in samples], 2))
    return sum(SequenceMatcher(None, a, b).ratio() for a, b in pairs) / len(pairs)
