"""The data model, one module per domain."""

from baojing.models.audit import AuditEntry
from baojing.models.members import (
    BranchContact,
    ContactLog,
    LiaisonAssignment,
    Member,
    RegistrationVisit,
)
from baojing.models.meta import AppMeta
from baojing.models.org import OrgUnit
from baojing.models.users import LoginFailure, User, UserSession

__all__ = [
    "AppMeta",
    "AuditEntry",
    "BranchContact",
    "ContactLog",
    "LiaisonAssignment",
    "LoginFailure",
    "Member",
    "OrgUnit",
    "RegistrationVisit",
    "User",
    "UserSession",
]
