"""Every ORM model, imported once so the metadata is complete (Alembic, tests)."""

from siaga.accounts import models as accounts_models
from siaga.agencies import models as agencies_models
from siaga.alerts import models as alerts_models
from siaga.audit import models as audit_models
from siaga.db import Base
from siaga.devices import models as devices_models
from siaga.dispatch import models as dispatch_models
from siaga.notify import models as notify_models
from siaga.partners import models as partners_models
from siaga.responders import models as responders_models
from siaga.sms import models as sms_models
from siaga.trackers import models as trackers_models
from siaga.webhooks import models as webhooks_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "agencies_models",
    "alerts_models",
    "audit_models",
    "devices_models",
    "dispatch_models",
    "metadata",
    "notify_models",
    "partners_models",
    "responders_models",
    "sms_models",
    "trackers_models",
    "webhooks_models",
]
