"""`replyloop export`: the retrain flow's export, against any stack, through its public HTTP API.

The same code as the state machine's export step (`services.export`), with two other ports: rows
come from the API (the replay listing of "not useful" verdicts, then each interaction for its
correction and explanation), and files go to a local directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from replyloop.client import ApiClient
from replyloop.domain.training import FailedReply
from replyloop.services.export import iter_pages


class ApiSource:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def not_useful_by_version(self, start: date, end: date) -> dict[str, int]:
        window = {"from": start.isoformat(), "to": end.isoformat(), "top": 0}
        return {
            version["versionTag"]: int(
                self.client.get("/api/feedback/analytics", version=version["versionTag"], **window)["notUsefulCount"]
            )
            for version in self.client.get("/api/versions")["items"]
        }

    def failed(self, versions: list[str], start: date, end: date) -> Iterator[FailedReply]:
        for tag in versions:

            def page(cursor: str | None, tag: str = tag) -> tuple[list[Any], str | None]:
                found = self.client.get(
                    "/api/feedback/replay",
                    verdict="no",
                    version=tag,
                    limit=100,
                    cursor=cursor,
                    **{"from": start.isoformat(), "to": end.isoformat()},
                )
                return found["items"], found.get("nextCursor")

            for item in iter_pages(page):
                view = self.client.get(f"/api/interactions/{item['interactionId']}")
                kept = view.get("correctedReply") if not view.get("improvementRejectedReason") else None
                yield FailedReply(
                    interaction_id=view["interactionId"],
                    message=view["message"],
                    ai_reply=view["aiReply"],
                    agent_reply=view.get("agentReply"),
                    corrected_reply=kept,
                    failure_category=view.get("failureCategory"),
                    explanation=view.get("explanation"),
                    score_gain=view.get("scoreGainEstimate") if kept else None,
                )
