"""Sign-in through the agency's identity provider (OpenID Connect, Streamlit's ``st.login``):
which claim names the role, which claim values give which role, where a field coordinator's
admin areas and the user's name come from, and whether the password form stays.

The provider itself (client id, secret, metadata URL) is Streamlit's ``[auth]`` section of
``.streamlit/secrets.toml``; these variables only say how its claims map to HgWatch:

- ``HGWATCH_OIDC_ROLE_CLAIM``: the claim holding the role value(s), e.g. ``groups``.
- ``HGWATCH_OIDC_ROLES``: ``VALUE=ROLE`` pairs, comma-separated, e.g. ``hg-admins=admin,hg-field=field``.
- ``HGWATCH_OIDC_AREAS_CLAIM``: the claim holding a field coordinator's admin areas.
- ``HGWATCH_OIDC_NAME_CLAIM``: the claim that names the user (default ``email``).
- ``HGWATCH_SIGN_IN``: ``both`` (the provider's button and the password form, default) or ``idp``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from geo.errors import ConfigError
from geo.words import one_of

ROLE_CLAIM_ENV = "HGWATCH_OIDC_ROLE_CLAIM"
ROLES_ENV = "HGWATCH_OIDC_ROLES"
AREAS_CLAIM_ENV = "HGWATCH_OIDC_AREAS_CLAIM"
NAME_CLAIM_ENV = "HGWATCH_OIDC_NAME_CLAIM"
SIGN_IN_ENV = "HGWATCH_SIGN_IN"
ENV_NAMES = (ROLE_CLAIM_ENV, ROLES_ENV, AREAS_CLAIM_ENV, NAME_CLAIM_ENV, SIGN_IN_ENV)
SIGN_IN_MODES = ("both", "idp")


@dataclass(frozen=True)
class OidcSettings:
    """How the identity provider's claims map to an HgWatch identity (see the module docstring)."""

    role_claim: str | None = None
    roles: Mapping[str, str] = field(default_factory=dict)  # claim value -> role
    areas_claim: str | None = None
    name_claim: str = "email"
    sign_in: str = "both"


def parse_oidc(environ: Mapping[str, str], known_roles: tuple[str, ...]) -> OidcSettings:
    """``OidcSettings`` from the variables in ``environ``; ``ConfigError`` naming the variable, the
    value and what is expected for a bad one (every problem at once)."""
    problems: list[str] = []
    roles: dict[str, str] = {}
    text = environ.get(ROLES_ENV, "").strip()
    for pair in (p.strip() for p in text.split(",") if p.strip()):
        value, sep, role = (s.strip() for s in pair.partition("="))
        if not sep or not value or role not in known_roles:
            problems.append(f"${ROLES_ENV}: {pair!r} is not VALUE=ROLE with ROLE {one_of(known_roles)}")
        elif roles.get(value, role) != role:
            problems.append(f"${ROLES_ENV}: claim value {value!r} is given two roles, {roles[value]!r} and {role!r}")
        else:
            roles[value] = role
    sign_in = environ.get(SIGN_IN_ENV, "").strip() or "both"
    if sign_in not in SIGN_IN_MODES:
        problems.append(f"${SIGN_IN_ENV}: {sign_in!r} is not {one_of(SIGN_IN_MODES)}")
    if problems:
        raise ConfigError("; ".join(problems))
    return OidcSettings(role_claim=environ.get(ROLE_CLAIM_ENV, "").strip() or None, roles=roles,
                        areas_claim=environ.get(AREAS_CLAIM_ENV, "").strip() or None,
                        name_claim=environ.get(NAME_CLAIM_ENV, "").strip() or "email", sign_in=sign_in)
