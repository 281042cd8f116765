"""Structured outputs the code asks models for (sent as strict JSON schemas, parsed back)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class LlmOutput(BaseModel):
    # Built on first use: the explain worker never needs the correct worker's models, nor the other way round.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class FailureExplanation(LlmOutput):
    """Why an AI reply failed, in the product's words (the seeds' self-analysis)."""

    explanation: str = Field(description="Two or three sentences: what the reply got wrong and why it mattered.")
    failure_category: str = Field(description="A short category name, preferably one of the known categories.")
    topic: str = Field(description="The customer's topic in one or two words, e.g. billing, shipping.")


class WhyThisReply(LlmOutput):
    """The seeds' explainWhyThisReply: why the assistant answered the way it did."""

    tone: str = Field(description="Why the reply sounds the way it does.")
    content: str = Field(description="Where its facts and steps come from, and what it assumed.")
    helpfulness: str = Field(description="How well it moves the customer's problem forward, and what is missing.")


class CorrectedReply(LlmOutput):
    """An improved reply written from the failure explanation and the agent's reply, not copied from it."""

    reply: str = Field(description="The improved reply to the customer.")
    rationale: str = Field(description="What was changed and why, in one or two sentences.")


class JudgeScores(LlmOutput):
    """One reply scored on the rubric, 1 (poor) to 10 (excellent)."""

    accuracy: int = Field(description="Correct and consistent with the reference facts.")
    completeness: int = Field(description="Answers everything the customer needs.")
    tone: int = Field(description="Warm, professional, fitting the situation.")
    helpfulness: int = Field(description="Moves the problem to a resolution with concrete next steps.")
    comments: str = Field(description="One or two sentences justifying the scores.")

    @field_validator("accuracy", "completeness", "tone", "helpfulness")
    @classmethod
    def _on_the_scale(cls, value: int) -> int:
        """Strict JSON schemas carry no ranges everywhere; keep any model's answer on the 1-10 scale."""
        return max(1, min(10, value))

    @property
    def overall(self) -> float:
        return (self.accuracy + self.completeness + self.tone + self.helpfulness) / 4
