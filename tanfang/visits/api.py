"""The visits' JSON API: record a visit (idempotent by the client's UUID), list
and read visits, a visitor's tasks. Same access, validation and audit as the pages."""

from ninja import Router

router = Router(tags=["探访"])
