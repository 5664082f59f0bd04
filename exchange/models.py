"""Imports every model so SQLAlchemy's metadata (and Alembic) sees the whole schema."""
from exchange.accounts.models import ApiToken, Party, User  # noqa: F401
from exchange.audit.models import AuditEntry, AuditHead  # noqa: F401
from exchange.orgs.models import OrgUnit  # noqa: F401
from exchange.workdays.models import CalendarDay, CalendarYear  # noqa: F401
from exchange.tradingrules.models import TradingRuleSetting  # noqa: F401
from exchange.catalog.models import Category, TransferMethod  # noqa: F401
from exchange.listings.models import (Listing, ListingEvent, ListingMaterial, ProjectCounter,  # noqa: F401
                                      StationOpinion)
from exchange.ledger.models import JournalEntry, JournalLine, LedgerAccount, Refund  # noqa: F401
from exchange.registrations.models import Registration, RegistrationMaterial  # noqa: F401
from exchange.registrations.models import RegistrationBan  # noqa: F401
from exchange.payments.models import (BankStatement, DepositArrival, PaymentNotification, PaymentOrder,  # noqa: F401
                                      StatementLine)
from exchange.trading.models import BiddingSession, Bid, Deal, Objection  # noqa: F401
from exchange.contracts.models import Contract  # noqa: F401
from exchange.settlement.models import FeeRule, Payout, Settlement  # noqa: F401
from exchange.certificates.models import Certificate  # noqa: F401
from exchange.incidents.models import DefaultCase, Dispute, RunnerUpOffer, Suspension, Termination  # noqa: F401
from exchange.incidents.models import ConductFinding  # noqa: F401
from exchange.notifications.models import Delivery, Notification  # noqa: F401
from exchange.supervision.models import SupervisionAlert  # noqa: F401
from exchange.opendata.models import DataToken, OpenDataChange  # noqa: F401
from exchange.procurement.models import (Expert, ExpertPartyTie, ExpertSpecialty, ExpertVillageTie,  # noqa: F401
                                         PanelMember, PanelScore, ProcurementBid, ProcurementBidFile,
                                         ProcurementPanel, ProcurementProject)
from exchange.mortgages.models import Mortgage, MortgageMaterial  # noqa: F401,E402
