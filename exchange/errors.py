"""The one exception type services raise when a rule is not met.

``message`` is shown to the user as is (Chinese); ``field`` names the form/API field it belongs to,
if any.  Each domain subclasses it (AccountError, OrgError, ListingError, CatalogError …) so callers
can catch one domain's errors or all of them.
"""
from __future__ import annotations


class ServiceError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
