"""The sample media HgWatch knows and the kind of quantity each is measured in: plain names, no
units library, so that the layer catalogue can list them without loading pint."""
from __future__ import annotations

#: The kind of quantity each medium is measured in.
MASS_PER_VOLUME = "mass per volume"
MASS_PER_MASS = "mass per mass"
MEDIUM_KIND: dict[str, str] = {
    "water": MASS_PER_VOLUME,
    "sediment": MASS_PER_MASS,
    "soil": MASS_PER_MASS,
    "fish": MASS_PER_MASS,
    "hair": MASS_PER_MASS,
    "air": MASS_PER_VOLUME,
}
MEDIA: tuple[str, ...] = tuple(MEDIUM_KIND)
"""Every sample medium HgWatch knows, in the order lists show them: the one list of media."""
