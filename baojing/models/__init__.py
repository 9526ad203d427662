"""The data model, one module per domain."""

from baojing.models.audit import AccessDenial, AuditEntry
from baojing.models.care import (
    CareCase,
    CarePhoto,
    CareVisit,
    FamilyPairing,
    PairingHelp,
    ServiceRequest,
    ServiceUpdate,
)
from baojing.models.certificates import CardCheck, Certificate, PrintJob, SerialCounter, Transfer
from baojing.models.hub import Announcement, AnnouncementReceipt, Question
from baojing.models.members import (
    BranchContact,
    ContactLog,
    LiaisonAssignment,
    Member,
    RegistrationVisit,
)
from baojing.models.mentors import (
    CreditSupport,
    Difficulty,
    Enterprise,
    EnterpriseMember,
    Event,
    HonourRecommendation,
    Invitation,
    MentorCheckin,
    MentorProfile,
    Mentorship,
)
from baojing.models.meta import AppMeta
from baojing.models.org import OrgUnit
from baojing.models.points import (
    CatalogItem,
    ItemSession,
    PointAccount,
    PointEntry,
    PointRule,
    Redemption,
    Voucher,
)
from baojing.models.rankings import (
    RankingAmendment,
    RankingLine,
    RankingObjection,
    RankingPublication,
)
from baojing.models.roster import RosterImport
from baojing.models.tasks import Task, TaskCompletion, TaskTemplate
from baojing.models.thoughts import ThoughtEvent, ThoughtPhoto, ThoughtReport
from baojing.models.users import LoginFailure, User, UserSession

__all__ = [
    "AccessDenial",
    "Announcement",
    "AnnouncementReceipt",
    "AppMeta",
    "AuditEntry",
    "BranchContact",
    "CareCase",
    "CarePhoto",
    "CareVisit",
    "Certificate",
    "CreditSupport",
    "Difficulty",
    "Enterprise",
    "EnterpriseMember",
    "Event",
    "HonourRecommendation",
    "Invitation",
    "MentorCheckin",
    "MentorProfile",
    "Mentorship",
    "FamilyPairing",
    "PairingHelp",
    "ServiceRequest",
    "ServiceUpdate",
    "CatalogItem",
    "ItemSession",
    "ContactLog",
    "LiaisonAssignment",
    "LoginFailure",
    "Member",
    "OrgUnit",
    "PointAccount",
    "PointEntry",
    "PointRule",
    "PrintJob",
    "Question",
    "CardCheck",
    "RankingAmendment",
    "RankingLine",
    "RankingObjection",
    "RankingPublication",
    "Redemption",
    "RosterImport",
    "RegistrationVisit",
    "SerialCounter",
    "ThoughtEvent",
    "ThoughtPhoto",
    "ThoughtReport",
    "Task",
    "TaskCompletion",
    "TaskTemplate",
    "Transfer",
    "User",
    "UserSession",
    "Voucher",
]
