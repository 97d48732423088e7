"""The identity provider's claims (``st.user`` after ``st.login``) mapped to an HgWatch ``Identity``.

The configured role claim's value (a string, or a list of strings) is looked up in the configured
map; a user none of whose values is mapped is refused (never a default role), and so is one whose
values map to two different roles. A field coordinator's admin areas come from the configured areas
claim (a list, or one comma-separated string); without any, the sign-in is refused. The name is the
configured name claim (``email`` unless set). A local account of the same name that is disabled
blocks the provider's sign-in too: disabling a person works whichever way they sign in.
"""
from __future__ import annotations

from collections.abc import Mapping

from geo.errors import HgWatchError
from layers.store.accounts import accounts_for
from layers.store.base import Store
from services.auth import ROLES, Identity, SignInError
from settings import Settings
from settings.oidc import OidcSettings, parse_oidc

MAX_NAME = 254  # characters: the longest e-mail address


class OidcRefused(SignInError):
    """The provider signed the user in, but HgWatch gives them no role (or their account is disabled)."""


def oidc_settings(settings: Settings) -> OidcSettings:
    """The claim mapping configured for ``settings`` (``ConfigError`` for a bad variable)."""
    return parse_oidc(dict(settings.oidc_env), tuple(ROLES))


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def identity_from_claims(claims: Mapping[str, object], config: OidcSettings) -> Identity:
    """The identity for the provider's ``claims``; ``OidcRefused`` saying why when there is none."""
    if config.role_claim is None:
        raise OidcRefused("sign-in through the identity provider is not set up: $HGWATCH_OIDC_ROLE_CLAIM is not set; "
                          "ask an administrator")
    raw_name = claims.get(config.name_claim)
    name = raw_name.strip() if isinstance(raw_name, str) else ""
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise OidcRefused(f"the identity provider sent no usable {config.name_claim!r} claim (expected a name of "
                          f"1 to {MAX_NAME} printable characters); ask an administrator")
    values = _strings(claims.get(config.role_claim))
    roles = sorted({config.roles[v] for v in values if v in config.roles})
    if not roles:
        raise OidcRefused(f"{name!r} has no HgWatch role: none of the values of claim {config.role_claim!r} "
                          f"({values!r}) is mapped to a role; ask an administrator")
    if len(roles) > 1:
        raise OidcRefused(f"{name!r} has more than one HgWatch role ({roles!r}) through claim {config.role_claim!r}; "
                          "ask an administrator to give one")
    role = roles[0]
    if role != "field":
        return Identity(name, role, provider=True)
    areas: list[str] = []
    if config.areas_claim is not None:
        for value in _strings(claims.get(config.areas_claim)):
            areas.extend(a.strip() for a in value.split(",") if a.strip())
    if not areas:
        raise OidcRefused(f"{name!r} is a field coordinator but the claim {config.areas_claim!r} names no admin area; "
                          "ask an administrator")
    return Identity(name, role, tuple(dict.fromkeys(areas)), provider=True)


def sign_in(store: Store | None, claims: Mapping[str, object], config: OidcSettings) -> Identity:
    """``identity_from_claims``, refused too when ``store`` holds a disabled account of that name."""
    who = identity_from_claims(claims, config)
    if store is not None:
        try:
            account = accounts_for(store).get(who.name) if store.exists() else None
        except HgWatchError as exc:
            raise OidcRefused(f"the store cannot be read, so {who.name!r} cannot be checked: {exc}") from exc
        if account is not None and account.disabled:
            raise OidcRefused(f"account {who.name!r} is disabled; ask an administrator")
    return who
