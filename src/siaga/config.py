"""One settings object, read from the environment (prefix ``SIAGA_``) and an optional ``.env`` file.

Nothing reads it at import time: the CLI builds it once and passes it to ``create_app(settings)``.
"""

from __future__ import annotations

import base64
import binascii
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEV_SECRET_KEY = "siaga-development-secret-key-do-not-use-in-production"  # noqa: S105 - refused outside dev
# The SMS webhook's secret in development mode when none is set (Standard Webhooks' format: whsec_ and base64); refused
# outside development mode.
DEV_SMS_WEBHOOK_SECRET = "whsec_c2lhZ2EtZGV2ZWxvcG1lbnQtd2ViaG9vay1zZWNyZXQ="  # noqa: S105
MIN_AUDIT_DAYS = 365  # an audit log kept less than a year cannot answer for last year's decisions


class InsecureSettings(ValueError):
    """Raised when a development default is used outside development mode."""


class _WithoutDevMode(PydanticBaseSettingsSource):
    """A ``.env`` file configures a deployment but cannot turn development mode on: a file left in a working
    folder must never quietly allow the development secret and the recording SMS adapter."""

    def __init__(self, settings_cls: type[BaseSettings], dotenv: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self.dotenv = dotenv

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ gives the values

    def __call__(self) -> dict[str, Any]:
        values = self.dotenv()
        values.pop("dev_mode", None)
        return values


class Settings(BaseSettings):
    """Siaga's configuration. Every field can be set as ``SIAGA_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="SIAGA_", env_file=".env", extra="ignore")

    dev_mode: bool = Field(default=False, description="Development mode: allows development defaults.")
    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/siaga.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    secret_key: SecretStr = Field(default=SecretStr(DEV_SECRET_KEY), description="Keys code and token hashes.")
    totp_key: SecretStr = Field(
        default=SecretStr(""),
        description="Encrypts staff TOTP secrets at rest; empty: derived from secret_key (so the development key "
        "only in development mode). Keep it once factors are enrolled: with another key they cannot be read. To "
        "change secret_key alone, set this to the old secret_key",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field(default="", description="Base URL printed for people; defaults to http://host:port.")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted to set X-Forwarded-For (the client address used for rate limits and audit).",
    )

    # Residents and one-time codes.
    default_region: str = Field(default="ID", description="Phone numbers without a country code are read here.")
    otp_ttl_seconds: int = Field(default=300, ge=30)
    otp_max_attempts: int = Field(default=5, ge=1)
    otp_per_number_per_hour: int = Field(default=5, ge=1)
    otp_per_client_per_hour: int = Field(default=20, ge=1)
    pin_max_attempts: int = Field(default=5, ge=1, description="Wrong PINs before cancelling is locked.")

    # Sessions.
    logins_at_once: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Staff logins one process checks at once; more get 429 at once, before touching the database, "
        "so a login flood cannot take the connections that residents' SOS presses need",
    )
    staff_session_hours: float = Field(default=12.0, gt=0)
    resident_session_days: float = Field(default=180.0, gt=0)
    staff_second_factor: Literal["required", "optional"] | None = Field(
        default=None,
        description="required: administrators and supervisors enrol a TOTP second factor at their next login, before "
        "anything else; optional (development mode only): nobody has to, anyone may. Default: required, and "
        "optional in development mode (the demo's accounts log in with their password)",
    )

    # Routing and alerts.
    jurisdiction_buffer_m: float = Field(default=1500.0, ge=0, description="Nearest-polygon fallback radius.")
    default_agency_code: str = Field(default="", description="Agency for alerts outside every jurisdiction.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_import_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Body limit of the admin's kecamatan GeoJSON upload only (a real city's file is hundreds of KB); "
        "every other request keeps max_body_bytes.",
    )

    # Timers (used by dispatch and escalation).
    ack_timeout_seconds: int = Field(default=60, ge=5, description="T1: escalate if not acknowledged.")
    dispatch_timeout_seconds: int = Field(default=180, ge=5, description="T2: escalate if no officer.")
    surge_presses_per_minute: int = Field(
        default=25, ge=1, description="Surge banner: real presses in one kecamatan within a minute that raise it."
    )
    exercise_units_answer_real_alerts: bool = Field(
        default=False,
        description="Drill units may be recommended, offered and dispatched real alerts. Only for the demo city, "
        "where the simulated officers are the only police; in a deployment a real SOS goes to real officers only.",
    )

    # Fixed panic buttons (siaga.devices): off unless the broker is named.
    mqtt_url: SecretStr = Field(
        default=SecretStr(""),
        description="The MQTT broker the panic buttons publish to, mqtt://user:password@host:1883 (mqtts:// for "
        "TLS); empty: the device bridge is off",
    )
    mqtt_client_id: str = Field(
        default="siaga",
        min_length=1,
        max_length=64,
        description="Siaga's MQTT client id: its persistent session on the broker keeps what arrives while it is away",
    )
    mqtt_lease_seconds: float = Field(
        default=15.0,
        ge=3,
        description="With several siaga serve processes, one holds the MQTT subscription on a database lease it renews "
        "every third of this; when it dies another takes over after this long (messages wait at the broker meanwhile)",
    )
    device_sweep_seconds: float = Field(
        default=10.0, gt=0, description="How often devices silent past their heartbeat interval are looked for"
    )

    # SMS adapter: "dev" records messages in the database and the log; "http" posts to sms_http_url (and takes
    # inbound messages and delivery receipts on its signed webhook); "gammu" writes Gammu SMSD's outbox and reads its
    # inbox (a GSM modem of the command centre's own).
    sms_adapter: Literal["dev", "http", "gammu"] = "dev"
    sms_http_url: str = ""
    sms_http_token: SecretStr = SecretStr("")
    sms_sender: str = "SIAGA"
    sms_webhook_secret: SecretStr = Field(
        default=SecretStr(""),
        description="The HTTP provider's webhook signing secret (Standard Webhooks: whsec_ and base64); inbound "
        "messages and delivery receipts signed with another, or more than 5 minutes off, are refused. Empty: the "
        "webhook is off (in development mode it takes the development secret)",
    )
    sms_gammu_config: Path = Field(
        default=Path("/etc/gammu-smsdrc"),
        description="Gammu SMSD's configuration (files backend): Siaga reads its inboxpath and errorsmspath, and "
        "sends with gammu-smsd-inject -c on it",
    )
    sms_gammu_inject: str = Field(default="gammu-smsd-inject", description="The gammu-smsd-inject command")
    sms_gammu_interval_seconds: float = Field(default=1.0, gt=0, description="How often the Gammu inbox is read")
    sms_replies_per_number_per_hour: int = Field(
        default=5,
        ge=0,
        description="Replies to inbound SMS one number gets an hour at most (against SMS pumping); an SOS's "
        "confirmation always goes",
    )
    sms_replies_per_day: int = Field(
        default=2000,
        ge=0,
        description="Replies to inbound SMS Siaga sends a day at most (WIB days), SOS confirmations at home excepted",
    )
    sms_per_country_per_day: dict[str, int] = Field(
        default_factory=lambda: {"ID": 2000, "*": 20},
        description="SMS that anyone can make Siaga send (replies to inbound SMS, sign-in codes) one destination "
        'country gets a day at most, by ISO region (JSON, e.g. {"ID": 2000, "MY": 50, "*": 20}; * is every country '
        "not named): SMS pumping goes for numbers abroad. At home an SOS's confirmation and a code are never refused",
    )
    sms_prices: dict[str, int] = Field(
        default_factory=dict,
        description="What one SMS part to a country costs (JSON by ISO region, * for the rest, in any one unit such "
        'as rupiah, e.g. {"ID": 350, "*": 5000}); with SIAGA_SMS_SPEND_PER_DAY those SMS are capped by spend',
    )
    sms_spend_per_day: int = Field(
        default=0,
        ge=0,
        description="What replies to inbound SMS and sign-in codes may cost a day at most, at SIAGA_SMS_PRICES (0: no "
        "spend cap, only the counts)",
    )
    sms_sos_number: str = Field(
        default="",
        max_length=20,
        pattern=r"^\+?[0-9 -]*$",
        description="The command centre's number the resident app texts an SOS to when it has no data (the Gammu "
        "modem's or the SMS provider's inbound number); empty: the app does not offer SMS",
    )
    contact_alarm_delay_seconds: int = Field(
        default=30, ge=0, le=600, description="Emergency contacts' alarm waits this long for a cancel by mistake"
    )
    contact_alarms_per_day: int = Field(
        default=3, ge=0, le=100, description="Alarms one emergency contact's number gets a day at most (WIB days)"
    )
    contact_map_link: str = Field(
        default="https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}",
        description="The map link in the contacts' SMS ({lat} and {lon} are filled in)",
    )

    # Real time.
    hub_url: str = Field(
        default="memory://",
        description="Event hub: memory:// (one process), redis://host:6379/0 or postgresql://... (several processes)",
    )
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    stream_queue_size: int = Field(default=1000, ge=10, description="Messages a slow client may fall behind")
    timer_interval_seconds: float = Field(default=1.0, gt=0, description="How often the timer sweep runs")
    gc_freeze_seconds: float = Field(
        default=0.5,
        ge=0,
        description="How often long-lived objects are moved out of Python's full garbage collections (0: never)",
    )
    gc_reclaim_seconds: float = Field(
        default=3600.0, gt=0, description="How often reference cycles among those objects are collected"
    )

    # Retention (see docs/deploy.md, "Backups and retention"): how long personal data is kept. The purge job runs
    # every retention_purge_interval_seconds in every `siaga serve`, and on demand with `siaga purge`.
    position_retention_hours: float = Field(
        default=24.0, gt=0, description="Officers' positions recorded off any alert are deleted after this"
    )
    retention_trail_days: float = Field(
        default=30.0,
        gt=0,
        description="Residents' location trails (and the officers' positions on the alert) are deleted this long "
        "after the alert closes",
    )
    retention_alert_details_days: float = Field(
        default=365.0,
        gt=0,
        description="A closed alert's personal details (the resident's words, the exact place, the battery, the "
        "contacts' SMS) are removed this long after it closes; time, category, kecamatan and outcome stay",
    )
    retention_audit_days: float = Field(
        default=730.0, description="Audit records are deleted after this; at least a year (365)"
    )
    retention_sms_days: float = Field(
        default=30.0,
        gt=0,
        description="The bodies and numbers of sent or failed SMS and pushes, and of SMS received and handled, are "
        "blanked after",
    )
    retention_device_days: float = Field(
        default=90.0,
        gt=0,
        description="Device events are deleted after this: records of ended sessions (the phone's or browser's "
        "address and user agent) and one-time codes",
    )
    retention_device_messages_days: float = Field(
        default=90.0,
        gt=0,
        description="Panic buttons' messages (every payload received on a device topic) and their troubles cleared "
        "before this are deleted; the alerts they raised stay",
    )
    retention_purge_interval_seconds: float = Field(default=3600.0, gt=0, description="How often the purge runs")

    # Webhooks for integrators (see the README's Webhooks section): signed as Standard Webhooks says, sent to public
    # addresses only (https outside development mode), retried with backoff, a subscription failing too long disabled.
    webhook_allowed_networks: str = Field(
        default="",
        description="Comma-separated private networks webhooks may be sent to all the same (an integrator on the "
        "command centre's own network, e.g. 10.20.0.0/16); every other private, loopback or link-local address is "
        "refused, and this server itself always is",
    )
    webhook_ca_bundle: str = Field(
        default="",
        description="A PEM file of the CAs to trust for webhook receivers' HTTPS (a receiver on the city's network "
        "with a certificate of its own CA); empty: the system's",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="One try's time limit")
    webhook_give_up_hours: float = Field(default=24.0, gt=0, description="A delivery is given up after this")
    webhook_disable_after_failures: int = Field(
        default=10, ge=1, description="A subscription is disabled after this many failed tries in a row ..."
    )
    webhook_disable_after_hours: float = Field(
        default=24.0, ge=0, description="... once it has also not succeeded for this long"
    )
    webhook_rotation_grace_hours: float = Field(
        default=24.0, ge=0, le=24 * 30, description="After a rotation the old secret still signs for this long"
    )
    webhook_retention_days: float = Field(default=30.0, gt=0, description="Deliveries and their tries are kept")

    # Web Push (officers' phones). Without a key, pushes are recorded in development and refused in production.
    vapid_private_key: SecretStr = SecretStr("")
    vapid_subject: str = "mailto:ops@siaga.invalid"

    # Web apps. Tiles come from a URL you run or trust (nothing is loaded from the internet by default); without
    # tiles the maps still show kecamatan, alerts and units.
    map_tile_url: str = Field(default="", description="e.g. http://tiles.local/{z}/{x}/{y}.png; empty: no tiles")
    map_tile_attribution: str = "(c) OpenStreetMap contributors"
    map_center_lat: float = -6.9147
    map_center_lon: float = 107.6098
    map_zoom: int = 13

    # The web's protections (see the README's Security section).
    api_schema: bool | None = Field(
        default=None,
        description="Serve /openapi.json, the API's description; default: in development mode only. The /docs and "
        "/redoc pages are never served (they load their scripts from the internet).",
    )
    hsts_seconds: int = Field(
        default=0, ge=0, description="Strict-Transport-Security max-age; set it (e.g. 31536000) only behind TLS"
    )

    # Monitoring (see docs/monitoring.md). /metrics answers only scrapers from these networks, and only with the
    # token if one is set; /livez and /readyz answer anyone (load balancers probe them).
    metrics_allow: str = Field(
        default="127.0.0.0/8,::1/128",
        description="Comma-separated networks allowed to read /metrics (the client address after trusted proxies)",
    )
    metrics_token: SecretStr = Field(
        default=SecretStr(""), description="If set, /metrics also needs 'Authorization: Bearer <token>'"
    )

    # Partner centres (a city's 112 centre): handovers as EIDO over HTTPS (see the README's Partner centres).
    partner_ca_bundle: str = Field(
        default="", description="A PEM file of the CAs to trust for partners' HTTPS; empty: the system's"
    )
    partner_retry_seconds: float = Field(
        default=5.0, gt=0, description="The wait after a handover's first failed try; it doubles, up to 5 minutes"
    )
    partner_give_up_hours: float = Field(
        default=24.0, gt=0, description="How long a handover is tried before it is marked failed"
    )
    partner_allowed_networks: str = Field(
        default="",
        description="Comma-separated private networks partner centres may be reached on all the same (a 112 centre on "
        "the city's own network, e.g. 10.30.0.0/16); as for webhooks, every other private, loopback or link-local "
        "address is refused, and this server itself always is",
    )

    log_level: str = "INFO"
    log_json: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _WithoutDevMode(settings_cls, dotenv_settings), file_secret_settings

    @field_validator("retention_audit_days")
    @classmethod
    def _audit_kept_a_year(cls, days: float) -> float:
        if days < MIN_AUDIT_DAYS:
            raise ValueError(f"audit records are kept at least a year: set {MIN_AUDIT_DAYS} days or more")
        return days

    @field_validator("sms_webhook_secret")
    @classmethod
    def _webhook_secret(cls, secret: SecretStr) -> SecretStr:
        value = secret.get_secret_value().removeprefix("whsec_")
        try:
            base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        except binascii.Error as exc:
            raise ValueError("SIAGA_SMS_WEBHOOK_SECRET must be whsec_ and base64, as the provider gives it") from exc
        return secret

    @field_validator("sms_per_country_per_day", "sms_prices")
    @classmethod
    def _per_country(cls, table: dict[str, int]) -> dict[str, int]:
        for country, value in table.items():
            if country != "*" and (len(country) != 2 or not country.isalpha() or not country.isupper()):
                raise ValueError(f"{country!r} is not an ISO region such as ID or MY (or * for every other country)")
            if value < 0:
                raise ValueError(f"{country}: {value} is below 0")
        return table

    @model_validator(mode="after")
    def _spend_needs_prices(self) -> Settings:
        if self.sms_spend_per_day > 0 and not self.sms_prices:
            raise ValueError("SIAGA_SMS_SPEND_PER_DAY needs SIAGA_SMS_PRICES (what one SMS to a country costs)")
        return self

    @field_validator("metrics_allow", "webhook_allowed_networks", "partner_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in value.split(","):
            if network.strip():
                ip_network(network.strip(), strict=False)  # a ValueError names the bad network
        return value

    @property
    def metrics_networks(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(n.strip(), strict=False) for n in self.metrics_allow.split(",") if n.strip()]

    @model_validator(mode="after")
    def _refuse_dev_defaults(self) -> Settings:
        if self.dev_mode:
            return self
        if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
            raise InsecureSettings(
                "SIAGA_SECRET_KEY is the development default; set a long random value "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))') "
                "or set SIAGA_DEV_MODE=1 for development"
            )
        if len(self.secret_key.get_secret_value()) < 32:
            raise InsecureSettings("SIAGA_SECRET_KEY must be at least 32 characters")
        totp_key = self.totp_key.get_secret_value()
        if totp_key == DEV_SECRET_KEY:
            raise InsecureSettings("SIAGA_TOTP_KEY is the development default; set a long random value")
        if totp_key and len(totp_key) < 32:
            raise InsecureSettings("SIAGA_TOTP_KEY must be at least 32 characters (or unset: SIAGA_SECRET_KEY)")
        if self.staff_second_factor == "optional":
            raise InsecureSettings(
                "SIAGA_STAFF_SECOND_FACTOR=optional lets administrators and supervisors in with a password alone; "
                "it is for development only (SIAGA_DEV_MODE=1)"
            )
        if self.sms_adapter == "dev":
            raise InsecureSettings(
                "SIAGA_SMS_ADAPTER=dev only records messages; configure a real adapter "
                "(SIAGA_SMS_ADAPTER=http with SIAGA_SMS_HTTP_URL, or SIAGA_SMS_ADAPTER=gammu) or set SIAGA_DEV_MODE=1"
            )
        opened = [ip_network(n.strip(), strict=False) for n in self.webhook_allowed_networks.split(",") if n.strip()]
        if any(n.is_loopback or n.is_link_local or n.prefixlen == 0 for n in opened):
            raise InsecureSettings(
                "SIAGA_WEBHOOK_ALLOWED_NETWORKS opens loopback, link-local or every address to webhooks (this "
                "machine's own services, cloud metadata): name only the integrators' networks, or set SIAGA_DEV_MODE=1"
            )
        partners = [ip_network(n.strip(), strict=False) for n in self.partner_allowed_networks.split(",") if n.strip()]
        if any(n.is_loopback or n.is_link_local or n.prefixlen == 0 for n in partners):
            raise InsecureSettings(
                "SIAGA_PARTNER_ALLOWED_NETWORKS opens loopback, link-local or every address to handovers (this "
                "machine's own services, cloud metadata): name only the partners' networks, or set SIAGA_DEV_MODE=1"
            )
        if self.sms_webhook_secret.get_secret_value() == DEV_SMS_WEBHOOK_SECRET:
            raise InsecureSettings(
                "SIAGA_SMS_WEBHOOK_SECRET is the development default; set the signing secret your SMS provider "
                "gave you (whsec_...) or set SIAGA_DEV_MODE=1"
            )
        return self

    @property
    def webhook_secret(self) -> str:
        """The SMS webhook's signing secret: the one set, else in development mode the development one; empty: off."""
        secret = self.sms_webhook_secret.get_secret_value()
        return secret or (DEV_SMS_WEBHOOK_SECRET if self.dev_mode else "")

    @property
    def requires_second_factor(self) -> bool:
        """Whether administrators and supervisors must have a second factor (see ``staff_second_factor``)."""
        return self.staff_second_factor == "required" or (self.staff_second_factor is None and not self.dev_mode)

    @property
    def serves_api_schema(self) -> bool:
        return self.dev_mode if self.api_schema is None else self.api_schema

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    def sqlite_path(self) -> Path | None:
        """The database file for a SQLite URL (None for in-memory or other databases)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(path) if path and path != ":memory:" else None
