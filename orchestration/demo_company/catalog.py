"""The demo company's fixed catalogue: plans, prices, coupons, endpoints, services, features.

Everything here is static; the simulation draws customers and their behaviour around it.
"""

from __future__ import annotations

from dataclasses import dataclass

CURRENCIES = ("usd", "eur", "gbp")
# Where customers come from and what they pay in. Country -> currency.
COUNTRIES: tuple[tuple[str, str, float], ...] = (
    ("US", "usd", 0.46),
    ("CA", "usd", 0.06),
    ("DE", "eur", 0.12),
    ("FR", "eur", 0.08),
    ("NL", "eur", 0.06),
    ("GB", "gbp", 0.16),
    ("IE", "eur", 0.06),
)
# Local list prices are set per currency (not converted): EUR equals USD, GBP is 80% of USD.
PRICE_FACTOR = {"usd": 1.0, "eur": 1.0, "gbp": 0.8}


@dataclass(frozen=True)
class Tier:
    key: str
    name: str
    seat_price_usd_cents: int  # per seat per month
    api_requests_included: int  # per month, whole account
    seats_included_max: int  # soft seat ceiling of the plan (upsell signal)


TIERS: tuple[Tier, ...] = (
    Tier("starter", "Starter", 1_500, 300_000, 5),
    Tier("growth", "Growth", 3_500, 2_000_000, 25),
    Tier("scale", "Scale", 7_500, 10_000_000, 100),
    Tier("enterprise", "Enterprise", 12_000, 50_000_000, 1_000),
)
TIER_INDEX = {t.key: i for i, t in enumerate(TIERS)}

ADDON_KEY = "priority_support"
ADDON_NAME = "Priority Support"
ADDON_PRICE_USD_CENTS = 19_900  # flat per month, quantity 1
OVERAGE_KEY = "api_overage"
OVERAGE_NAME = "API overage"
OVERAGE_PRICE_USD_CENTS = 50  # per 1,000 requests, metered, billed in arrears
ANNUAL_MONTHS_CHARGED = 10  # annual plan = 10x the monthly price (two months free)


@dataclass(frozen=True)
class Coupon:
    id: str
    name: str
    duration: str  # forever | once | repeating
    percent_off: float
    duration_in_months: int | None = None


COUPONS: tuple[Coupon, ...] = (
    Coupon("LAUNCH10", "Launch partner 10% forever", "forever", 10.0),
    Coupon("WELCOME25", "Welcome 25% off first invoice", "once", 25.0),
    Coupon("QUARTER20", "20% off for 3 months", "repeating", 20.0, 3),
)

SEGMENTS: tuple[tuple[str, float], ...] = (("smb", 0.65), ("mid_market", 0.28), ("enterprise", 0.07))
SEGMENT_SEATS = {"smb": (1, 6), "mid_market": (5, 35), "enterprise": (30, 220)}
SEGMENT_TIER_WEIGHTS = {
    "smb": (0.62, 0.33, 0.05, 0.0),
    "mid_market": (0.10, 0.55, 0.32, 0.03),
    "enterprise": (0.0, 0.10, 0.45, 0.45),
}
SEGMENT_ANNUAL_SHARE = {"smb": 0.12, "mid_market": 0.25, "enterprise": 0.55}
# Planted monthly churn hazard (voluntary and card-failure churn together). Payment failures that
# retries do not recover add a little involuntary churn on top (CARD_FAILURE below).
SEGMENT_MONTHLY_CHURN = {"smb": 0.028, "mid_market": 0.013, "enterprise": 0.0025}
# Probability that a charge attempt fails, by segment; RISKY_CARD_SHARE of customers have a card
# RISKY_CARD_FACTOR times as likely to fail (cards near expiry, thin balances).
CARD_FAILURE = {"smb": 0.012, "mid_market": 0.007, "enterprise": 0.003}
RISKY_CARD_SHARE, RISKY_CARD_FACTOR = 0.10, 4.0
# Smart Retries succeed this often per retry after a first failure with this code (a declined or
# empty card often stays so for days; an expired card needs the customer to act).
RETRY_SUCCESS = {"card_declined": 0.30, "insufficient_funds": 0.40, "expired_card": 0.10}
TRIAL_SHARE = 0.55  # month-plan smb / mid-market sign-ups that start with a 14-day trial
TRIAL_CONVERSION = 0.40  # trials that become paying (card required at trial end)
INDUSTRIES = ("software", "fintech", "ecommerce", "healthcare", "media", "logistics", "education")

# Product usage
ENDPOINTS: tuple[tuple[str, float, float, float], ...] = (
    # path, share of requests, base error rate, base p50 latency (ms)
    ("/v1/query", 0.40, 0.004, 120.0),
    ("/v1/ingest", 0.25, 0.006, 45.0),
    ("/v1/reports", 0.15, 0.008, 380.0),
    ("/v1/auth", 0.12, 0.002, 25.0),
    ("/v1/export", 0.08, 0.010, 900.0),
)
# requests per seat per weekday by tier
TIER_REQUESTS_PER_SEAT = {"starter": 220.0, "growth": 420.0, "scale": 900.0, "enterprise": 1_300.0}

SERVICES: tuple[tuple[str, float, float, float], ...] = (
    # service, share of API requests it serves, requests/hour capacity per instance, $/instance-hour
    # (the rates include the managed-service, replica and support premiums of a multi-region
    # deployment; calibrated so cloud cost is ~20-25% of revenue at scale 1, gross margin ~77%)
    ("api-gateway", 1.00, 90_000.0, 0.62),
    ("query-engine", 0.55, 16_000.0, 2.20),
    ("ingest-workers", 0.25, 30_000.0, 1.10),
    ("report-renderer", 0.23, 5_000.0, 1.45),
    ("postgres-primary", 0.70, 200_000.0, 3.60),
    ("redis-cache", 0.80, 400_000.0, 0.72),
)

FEATURES = (
    "dashboards",
    "alerts",
    "exports",
    "integrations",
    "scheduled_reports",
    "sso",
    "api_keys",
    "ai_assistant",
)
ONBOARDING_MILESTONES = (
    ("account_created", 0.0),
    ("first_api_key", 1.0),
    ("first_api_call", 3.0),
    ("invited_teammate", 6.0),
    ("first_dashboard", 8.0),
    ("integration_connected", 15.0),
)
TICKET_CATEGORIES = ("how_to", "bug", "billing", "performance", "feature_request")
LEAD_SOURCES = ("organic", "paid_search", "paid_social", "referral", "webinar", "outbound")
CAMPAIGN_CHANNELS = (
    ("email", "email"),
    ("paid_search", "content"),
    ("paid_social", "social"),
    ("webinar", "webinar"),
    ("content", "content"),
    ("trial", "trial"),
)
OPPORTUNITY_STAGES = (
    ("prospecting", 0.10),
    ("qualification", 0.25),
    ("proposal", 0.50),
    ("negotiation", 0.75),
    ("closed_won", 1.0),
    ("closed_lost", 0.0),
)
SALES_REPS = ("ava.chen", "ben.okafor", "carla.mendes", "dev.patel", "emma.lind", "farid.haddad")
DEPARTMENTS = ("sales_marketing", "infrastructure", "research_development", "customer_success", "general_admin")
