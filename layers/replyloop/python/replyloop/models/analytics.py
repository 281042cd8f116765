"""HTTP models of what is read across interactions: usefulness analytics and the leaderboard."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from replyloop.domain.analytics import CategoryTrend, UsefulnessSummary
from replyloop.domain.entities import ReplayRow
from replyloop.models.api import ApiModel


class DailyBreakdown(ApiModel):
    date: date
    useful: int
    not_useful: int
    total: int
    interactions: int


class NegativeMessage(ApiModel):
    interaction_id: str
    message: str
    ai_reply: str
    agent_reply: str | None
    assistant_version: str
    created_at: datetime


class AnalyticsResponse(ApiModel):
    from_: date = Field(alias="from")
    to: date
    assistant_version: str | None
    total: int = Field(description="Verdicts on interactions drafted in the window.")
    useful_count: int
    not_useful_count: int
    useful_rate: float | None
    override_count: int = Field(description='Verdicts "no" where the agent wrote their own reply.')
    override_rate: float | None
    interactions: int = Field(description="Interactions drafted or recorded in the window.")
    daily_breakdown: list[DailyBreakdown]
    top_negative_messages: list[NegativeMessage]
    failure_categories: list[CategoryFigure] = Field(
        default_factory=list, description="Top failure categories in the window, with their daily counts."
    )

    @classmethod
    def of(
        cls,
        start: date,
        end: date,
        version: str | None,
        summary: UsefulnessSummary,
        negatives: list[ReplayRow],
        categories: list[CategoryTrend] | None = None,
    ) -> AnalyticsResponse:
        return cls.model_validate(
            {
                "from_": start,
                "to": end,
                "assistant_version": version,
                "total": summary.total,
                "useful_count": summary.useful,
                "not_useful_count": summary.not_useful,
                "useful_rate": summary.useful_rate,
                "override_count": summary.overrides,
                "override_rate": summary.override_rate,
                "interactions": summary.interactions,
                "daily_breakdown": [
                    DailyBreakdown(
                        date=day.day,
                        useful=day.useful,
                        not_useful=day.not_useful,
                        total=day.total,
                        interactions=day.interactions,
                    )
                    for day in summary.days
                ],
                "top_negative_messages": [
                    NegativeMessage(
                        interaction_id=row.interaction.interaction_id,
                        message=row.interaction.message,
                        ai_reply=row.interaction.ai_reply,
                        agent_reply=row.feedback.agent_reply,
                        assistant_version=row.interaction.assistant_version,
                        created_at=row.interaction.created_at,
                    )
                    for row in negatives
                ],
                "failure_categories": [
                    CategoryFigure(
                        category=trend.category,
                        count=trend.count,
                        trend=[CategoryDay(date=day, count=count) for day, count in trend.days],
                    )
                    for trend in categories or []
                ],
            }
        )


class LeaderboardItem(ApiModel):
    interaction_id: str
    prompt: str = Field(description="The customer's message the reply answered.")
    original_reply: str
    corrected_reply: str
    score_gain_estimate: float
    failure_category: str | None
    created_at: datetime
    link: str


class Leaderboard(ApiModel):
    items: list[LeaderboardItem]


class CategoryDay(ApiModel):
    date: date
    count: int


class CategoryFigure(ApiModel):
    category: str
    count: int
    trend: list[CategoryDay]
