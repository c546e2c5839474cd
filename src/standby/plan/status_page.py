"""The plan's `status_page` section: the services customers see on the public status page.

Without it, the public page shows the plan's queues under their own names. With it, the
plan names the public services itself (channels such as web chat or the app, as well as
phone lines) and maps each to the components and queues behind it. Internal component
names never reach the public page: only the names written here do.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from standby.plan.fields import Id, Text
from standby.plan.section import Section


class PublicService(Section):
    """A service as customers know it, and what it runs on."""

    id: Id = Field(description="Unique id of the service (it appears in the status page's JSON and links).")
    name: Text = Field(description="Its public name, such as 'Phone line: billing' or 'Web chat'.")
    description: str | None = Field(None, description="One line customers read under the name.")
    components: list[Id] = Field(
        default_factory=list, description="Component ids it needs: it is out when they are."
    )
    queues: list[Id] = Field(
        default_factory=list, description="Queue ids it is: it is out when they are not answered."
    )

    @model_validator(mode="after")
    def _runs_on_something(self) -> PublicService:
        if not self.components and not self.queues:
            raise ValueError("a public service needs at least one of 'components' or 'queues'")
        return self


class StatusPage(Section):
    """What the public status page shows."""

    services: list[PublicService] = Field(
        min_length=1, description="Public services, in the order the page lists them."
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> StatusPage:
        seen: set[str] = set()
        for service in self.services:
            if service.id in seen:
                raise ValueError(f"duplicate public service id {service.id!r}")
            seen.add(service.id)
        return self
