"""The layer catalogue: one declared spec per layer type.

Each spec gives the geometry types, the fields with their types, allowed values and units,
which fields are restricted (never exported to partners), and the display style.
Field lists start from the minimum interchange fields in the domain brief and add what the
source documents call for (003: licence status, size class, retorts, season; 000/004: operator,
inspections; 003: tailings lining and capping).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from geo.contamination import MEDIA

DType = Literal["str", "int", "float", "bool", "date"]


@dataclass(frozen=True)
class FieldSpec:
    """One attribute of a layer.

    Parameters
    ----------
    name : column name in the workspace and in exports.
    dtype : "str", "int", "float", "bool" or "date" (ISO 8601 day).
    required : a value must be present in every row.
    allowed : the closed set of values for a coded field; ``None`` means any value of ``dtype``.
    unit : unit of a numeric field in pint notation, e.g. "kg/year", "m", "mg/kg".
    minimum, maximum : inclusive bounds of a numeric field, in ``unit``.
    restricted : never exported under the public or partner profile (people, contacts).
    aliases : other column names accepted on import (compared case-insensitively).
    description : one line for popups, help and the README.
    detection_flag : for a measurement, the bool field that marks a value below the detection
        limit; the value may then be written '<0.1' (limit 0.1, flag set).
    """

    name: str
    dtype: DType = "str"
    required: bool = False
    allowed: tuple[str, ...] | None = None
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    restricted: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""
    detection_flag: str | None = None


@dataclass(frozen=True)
class Style:
    """How a layer draws on the map (Leaflet path options; colours are CSS hex)."""

    color: str
    fill_color: str
    weight: float = 2.0
    fill_opacity: float = 0.3
    radius: float = 6.0
    dash_array: str | None = None


@dataclass(frozen=True)
class LayerSpec:
    """A layer type: its geometry types, id field, fields and style.

    ``geometry_optional``: a record may have no geometry (a register row); when it has one, it
    is one of ``geometry_types``. ``restricted``: the WHOLE layer is closed: only roles that may
    see restricted data (analyst, admin) ever read it; it has no partner view and no export
    profile below internal holds it (``services.auth`` enforces this on the read path).
    ``personal_rows``: (field, values): a row whose ``field`` holds one of ``values`` is about a
    person (a hair sample is one person's health record, and its point is where that person lives
    or works), so the row is restricted as a whole: a partner never reads it and no partner or
    public export holds it; a field coordinator reads it in its own admin areas only
    (``layers.store.visibility`` is the one home of the test, for both stores).
    """

    name: str
    title: str
    geometry_types: tuple[str, ...]
    id_field: str
    fields: tuple[FieldSpec, ...]
    style: Style
    description: str = ""
    label_field: str | None = "name"
    geometry_optional: bool = False
    restricted: bool = False
    personal_rows: tuple[str, tuple[str, ...]] | None = None

    def field(self, name: str) -> FieldSpec | None:
        """The spec of field ``name``, or None if the layer does not declare it."""
        return next((f for f in self.fields if f.name == name), None)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Declared field names, in declaration order."""
        return tuple(f.name for f in self.fields)

    @property
    def restricted_fields(self) -> tuple[str, ...]:
        """Fields never exported to partners."""
        return tuple(f.name for f in self.fields if f.restricted)

    @property
    def shared_fields(self) -> tuple[str, ...]:
        """Declared fields that may leave under the partner profile: the allow-list."""
        return tuple(f.name for f in self.fields if not f.restricted and not is_restricted_name(f.name))


STATUS = ("active", "inactive", "abandoned", "unknown")
AMALGAMATION = ("none", "whole_ore", "concentrate", "partial", "unknown")
BURNING = ("none", "open", "retort", "unknown")
WATER_KIND = ("river", "stream", "canal", "lake", "reservoir", "pond", "wetland", "unknown")
MEDIUM = MEDIA  # the one list of sample media lives in geo.contamination
HUMAN_MEDIA = ("hair",)  # media sampled from a person: each such sample is personal health data
POINT = ("Point",)
POINT_OR_POLYGON = ("Point", "Polygon", "MultiPolygon")
POLYGON = ("Polygon", "MultiPolygon")
ADMIN_LEVELS = ("country", "region", "province", "district", "commune")
ZONE_TYPES = ("protected_area", "water_protection", "licence_area", "competitive_auction", "pasture",
              "border", "asm_zone", "other")
RECEPTOR_TYPES = ("school", "health_post", "water_intake", "fishing_community", "market", "other")
LICENCE_TYPES = ("prospecting", "mining", "processing", "trading")
LICENCE_STATUS = ("valid", "suspended", "revoked", "expired")
FACILITY_TYPES = ("centralized_amalgamation", "processing_plant", "hg_waste_treatment", "hg_storage", "gold_buyer")
TRADE_RECORD_TYPES = ("trader", "transaction", "seizure", "route", "entry_point")
SEX = ("female", "male", "unknown")
#: Age bands of the miners' register: under 15 and 15-17 are the children the NAPs name (000, 003).
AGE_BANDS = ("under_15", "15_17", "18_24", "25_49", "50_plus", "unknown")

_ADMIN = FieldSpec("admin_area", aliases=("region",),  # the real Peru mining points: "Region"
                   description="province or region (first administrative level)")
_DISTRICT = FieldSpec("district", description="district or commune (second level)")

MINING_SITES = LayerSpec(
    name="mining_sites",
    title="Mining sites",
    geometry_types=POINT_OR_POLYGON,
    id_field="site_id",
    description="Artisanal and small-scale gold mining sites and processing places.",
    style=Style(color="#7a4b00", fill_color="#e69f00", radius=6),
    fields=(
        FieldSpec("site_id", required=True, aliases=("id", "site", "site_code"),
                  description="unique site identifier"),
        FieldSpec("name", aliases=("site_name",), description="site name"),
        FieldSpec("status", allowed=STATUS, description="operating status"),
        FieldSpec("uses_mercury", "bool", aliases=("mercury_use", "hg_use"),
                  description="mercury is used at the site"),
        FieldSpec("amalgamation", allowed=AMALGAMATION,
                  description="amalgamation practice (whole_ore is a Minamata Annex C worst practice)"),
        FieldSpec("burning", allowed=BURNING, description="how amalgam is burned"),
        FieldSpec("burning_in_residential", "bool",
                  description="amalgam is burned in homes or residential areas (reported)"),
        FieldSpec("cyanide_leaching", "bool",
                  description="cyanide leaching of ore, sediment or tailings"),
        FieldSpec("processing_method", allowed=("amalgamation", "gravity", "cyanidation",
                  "flotation", "direct_smelting", "borax", "mixed", "unknown"),
                  description="main gold recovery method"),
        FieldSpec("gold_kg_per_year", "float", unit="kg/year", minimum=0,
                  description="gold produced"),
        FieldSpec("gold_g_per_day", "float", unit="g/day", minimum=0,
                  description="gold produced on a working day"),
        FieldSpec("working_days_per_year", "int", unit="day/year", minimum=0, maximum=366,
                  description="working days a year"),
        FieldSpec("mercury_kg_per_year", "float", unit="kg/year", minimum=0,
                  description="mercury used, as measured or reported at the site"),
        FieldSpec("miners", "int", minimum=0, description="people working at the site"),
        FieldSpec("women_miners", "int", minimum=0, description="women working at the site"),
        FieldSpec("children_present", "bool", description="children work or live at the site"),
        FieldSpec("size_class", allowed=("small", "average", "large", "unknown"),
                  description="size class as used in the Kyrgyz baseline (003)"),
        FieldSpec("operator", description="operator, cooperative or company"),
        FieldSpec("licence_status", allowed=("licensed", "unlicensed", "pending", "expired",
                  "unknown"), description="mining licence status"),
        FieldSpec("registered", "bool", description="site is in the national register"),
        FieldSpec("season", allowed=("year_round", "dry", "wet", "unknown"),
                  description="season of operation"),
        _ADMIN,
        _DISTRICT,
        FieldSpec("survey_date", "date", aliases=("date", "today", "_submission_time"),
                  description="date of the survey visit"),
        FieldSpec("survey_round", description="survey round or campaign"),
        FieldSpec("resurvey_of", aliases=("previous_site_id",),
                  description="site_id of the same site in an earlier survey round (this record re-surveys it)"),
        FieldSpec("last_inspected", "date", description="date of the last inspection"),
        FieldSpec("informant_name", restricted=True, description="person interviewed"),
        FieldSpec("informant_contact", restricted=True, description="phone or address of the informant"),
        FieldSpec("inspector_name", restricted=True, description="inspector who visited"),
        FieldSpec("notes", description="free text"),
    ),
)

WATER_BODIES = LayerSpec(
    name="water_bodies",
    title="Water bodies",
    geometry_types=("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    id_field="water_id",
    description="Rivers, streams and canals as lines; lakes, reservoirs, ponds and wetlands as polygons.",
    style=Style(color="#1f78b4", fill_color="#a6cee3", weight=2, fill_opacity=0.5),
    fields=(
        FieldSpec("water_id", required=True, aliases=("id",), description="unique water body identifier"),
        FieldSpec("name", description="water body name"),
        FieldSpec("kind", allowed=WATER_KIND, description="kind of water body"),
        FieldSpec("width_m", "float", unit="m", minimum=0,
                  description="width of a river given as a centre line; distances go to the bank"),
        FieldSpec("flow", allowed=("forward", "reverse"),
                  description="flow direction relative to vertex order (forward: first to last vertex)"),
        FieldSpec("drinking_source", "bool", description="used for drinking water"),
    ),
)

RESIDENTIAL_AREAS = LayerSpec(
    name="residential_areas",
    title="Residential areas",
    geometry_types=POINT_OR_POLYGON,
    id_field="area_id",
    description="Villages, towns and camps where people live.",
    style=Style(color="#6a3d9a", fill_color="#cab2d6", radius=4),
    fields=(
        FieldSpec("area_id", required=True, aliases=("id", "osm_id", "osm_node_id", "osm_way_id"),
                  description="unique area identifier"),  # osm_node_id: the real OSM places extract
        FieldSpec("name", description="place name"),
        FieldSpec("population", "int", minimum=0, description="people living there"),
        FieldSpec("place", allowed=("city", "town", "village", "hamlet", "camp",
                  "isolated_dwelling", "suburb", "neighbourhood", "locality", "unknown"),
                  description="kind of place"),
        _ADMIN,
    ),
)

TAILINGS = LayerSpec(
    name="tailings",
    title="Tailings",
    geometry_types=POINT_OR_POLYGON,
    id_field="tailings_id",
    description="Tailings pits, ponds and heaps (003: at least 100 m from water, clay-lined, capped).",
    style=Style(color="#4d4d4d", fill_color="#999999", radius=5),
    fields=(
        FieldSpec("tailings_id", required=True, aliases=("id",), description="unique tailings identifier"),
        FieldSpec("site_id", description="the mining site these tailings come from"),
        FieldSpec("lined", "bool", description="lined with clay or a liner"),
        FieldSpec("capped", "bool", description="capped with 1 m of clay when full"),
        FieldSpec("hg_mg_per_kg", "float", unit="mg/kg", minimum=0, description="mercury in tailings"),
        FieldSpec("volume_m3", "float", unit="m^3", minimum=0, description="volume"),
        FieldSpec("au_g_per_t", "float", unit="g/t", minimum=0,
                  description="gold left in the tailings (the catalogue of tailings, 003 L2985-3000)"),
        FieldSpec("status", allowed=("active", "closed", "abandoned", "unknown"),
                  description="state of the tailings"),
    ),
)

DEPOSITS = LayerSpec(
    name="deposits",
    title="Gold deposits",
    geometry_types=POINT_OR_POLYGON,
    id_field="deposit_id",
    description="Known gold deposits and occurrences.",
    style=Style(color="#b8860b", fill_color="#ffd700", fill_opacity=0.2, dash_array="4 4"),
    fields=(
        FieldSpec("deposit_id", required=True, aliases=("id",), description="unique deposit identifier"),
        FieldSpec("name", description="deposit name"),
        FieldSpec("deposit_type", allowed=("alluvial", "hard_rock", "unknown"),
                  description="alluvial (placer) or hard-rock (lode)"),
        FieldSpec("commodity", description="main commodity"),
    ),
)

SAMPLES = LayerSpec(
    name="samples",
    title="Mercury samples",
    geometry_types=POINT,
    id_field="sample_id",
    description="Mercury measurements by medium. A value below the detection limit is written '<0.1'.",
    personal_rows=("medium", HUMAN_MEDIA),
    style=Style(color="#006d2c", fill_color="#41ab5d", radius=5),
    fields=(
        FieldSpec("sample_id", required=True, aliases=("id",), description="unique sample identifier"),
        FieldSpec("medium", required=True, allowed=MEDIUM, description="what was sampled"),
        FieldSpec("hg", "float", required=True, minimum=0, aliases=("mercury", "hg_value", "value"),
                  description="mercury value in `unit`; the detection limit when below_detection",
                  detection_flag="below_detection"),
        FieldSpec("below_detection", "bool",
                  description="the value is below the detection limit given in `hg`"),
        FieldSpec("unit", required=True, description="unit of `hg`, e.g. ug/L, mg/kg, ug/g, ug/m^3"),
        FieldSpec("species", allowed=("total", "methyl", "inorganic", "unknown"),
                  description="mercury species measured"),
        FieldSpec("sampled_on", "date", aliases=("date",), description="sampling date"),
        FieldSpec("lab", description="laboratory"),
        FieldSpec("fish_predatory", "bool", description="fish species is predatory (Codex 1 mg/kg)"),
        FieldSpec("collector_name", restricted=True, description="person who took the sample"),
        FieldSpec("participant_id", restricted=True, description="person a hair sample came from"),
        _ADMIN,
    ),
)

ADMIN_AREAS = LayerSpec(
    name="admin_areas",
    title="Administrative areas",
    geometry_types=POLYGON,
    id_field="area_code",
    description="Administrative units (country, region or province, district, commune) that the NAPs report by.",
    style=Style(color="#525252", fill_color="#f0f0f0", weight=1.5, fill_opacity=0.0, dash_array="6 3"),
    fields=(
        FieldSpec("area_code", required=True, aliases=("code", "id", "pcode"),
                  description="unique code of the unit (e.g. a P-code)"),
        FieldSpec("name", description="name of the unit"),
        FieldSpec("level", required=True, allowed=ADMIN_LEVELS, description="administrative level"),
        FieldSpec("parent_code", description="area_code of the unit one level up; empty for a country"),
    ),
)

ZONES = LayerSpec(
    name="zones",
    title="Zones",
    geometry_types=POLYGON,
    id_field="zone_id",
    description="Protected areas, water-protection zones, licence, auction, pasture and border areas "
                "where artisanal mining may be banned (003 L972-988), and ASM zones.",
    style=Style(color="#b2182b", fill_color="#f4a582", weight=2, fill_opacity=0.15, dash_array="8 4"),
    fields=(
        FieldSpec("zone_id", required=True, aliases=("id",), description="unique zone identifier"),
        FieldSpec("name", description="zone name"),
        FieldSpec("zone_type", allowed=ZONE_TYPES, description="kind of zone"),
        FieldSpec("prohibits_mining", "bool", description="artisanal mining is prohibited inside the zone"),
        FieldSpec("legal_source", description="the law or decision that sets the zone, with its reference"),
    ),
)

RECEPTORS = LayerSpec(
    name="receptors",
    title="Sensitive receptors",
    geometry_types=POINT_OR_POLYGON,
    id_field="receptor_id",
    description="Schools, health posts, drinking-water intakes and fishing communities exposed to mercury.",
    style=Style(color="#c51b7d", fill_color="#f1b6da", radius=5, fill_opacity=0.5),
    fields=(
        FieldSpec("receptor_id", required=True, aliases=("id",), description="unique receptor identifier"),
        FieldSpec("name", description="name of the school, health post, intake or community"),
        FieldSpec("receptor_type", allowed=RECEPTOR_TYPES, description="kind of receptor"),
        FieldSpec("population", "int", minimum=0, description="people served or present (pupils, patients)"),
        _ADMIN,
    ),
)

LICENCES = LayerSpec(
    name="licences",
    title="Licences",
    geometry_types=POLYGON,
    id_field="licence_id",
    description="Licensed areas by prospecting, mining, processing and trading (004 L1650-1690; 003 L1841-1862).",
    style=Style(color="#1b7837", fill_color="#a6dba0", weight=1.5, fill_opacity=0.15),
    label_field="licence_id",
    fields=(
        FieldSpec("licence_id", required=True, aliases=("id", "licence_no", "license_id"),
                  description="unique licence number"),
        FieldSpec("holder", restricted=True,
                  description="licence holder; often a person (an individual entrepreneur), so restricted"),
        FieldSpec("holder_type", allowed=("individual", "cooperative", "company", "state", "unknown"),
                  description="kind of holder"),
        FieldSpec("licence_type", allowed=LICENCE_TYPES, description="what the licence allows"),
        FieldSpec("valid_from", "date", description="first day of validity; empty is open"),
        FieldSpec("valid_to", "date", description="last day of validity; empty is open"),
        FieldSpec("status", allowed=LICENCE_STATUS, description="licence status"),
        FieldSpec("authority", description="issuing authority"),
    ),
)

FACILITIES = LayerSpec(
    name="facilities",
    title="Facilities",
    geometry_types=POINT,
    id_field="facility_id",
    description="Centralized amalgamation facilities, processing plants, mercury-waste treatment and storage, "
                "gold buyers (003 L2985-3000; 002 L445-455).",
    style=Style(color="#08519c", fill_color="#6baed6", radius=7, fill_opacity=0.7),
    fields=(
        FieldSpec("facility_id", required=True, aliases=("id",), description="unique facility identifier"),
        FieldSpec("name", description="facility name"),
        FieldSpec("facility_type", allowed=FACILITY_TYPES, description="kind of facility"),
        FieldSpec("licence_id", description="the licence it works under"),
        FieldSpec("capacity", "float", unit="t/day", minimum=0,
                  description="material it can process or take in a day (ore, concentrate or waste)"),
        FieldSpec("storage_kg", "float", unit="kg", minimum=0, description="mercury or mercury waste it can hold"),
        FieldSpec("operator", description="company, cooperative or agency that runs it"),
        FieldSpec("status", allowed=("operating", "planned", "closed", "unknown"), description="state"),
        _ADMIN,
    ),
)

MERCURY_TRADE = LayerSpec(
    name="mercury_trade",
    title="Mercury trade",
    geometry_types=("Point", "LineString"),
    id_field="record_id",
    description="Mercury traders, transactions, seizures, routes and entry points (003 L1841-1862, "
                "L1936-1950). The whole layer is closed (003 L2895-2925: routes only in the closed portal).",
    style=Style(color="#67001f", fill_color="#d6604d", weight=3, radius=6, fill_opacity=0.6, dash_array="2 4"),
    label_field="record_type",
    restricted=True,
    fields=(
        FieldSpec("record_id", required=True, aliases=("id",), description="unique record identifier"),
        FieldSpec("record_type", required=True, allowed=TRADE_RECORD_TYPES, description="kind of record"),
        FieldSpec("kg", "float", unit="kg", minimum=0, aliases=("mercury_kg",),
                  description="mercury traded, seized or moved"),
        FieldSpec("date", "date", description="date of the transaction, seizure or record"),
        FieldSpec("seller", restricted=True, description="who sold the mercury (person or business)"),
        FieldSpec("buyer", restricted=True, description="who bought the mercury (person or business)"),
        FieldSpec("place", description="where it took place (market, border crossing)"),
    ),
)

MINERS = LayerSpec(
    name="miners",
    title="Miners",
    geometry_types=POINT,
    geometry_optional=True,
    id_field="miner_id",
    description="The register of miners (003 L994-1067; 000 activity 1.2.3): one row per person, with or "
                "without a location. Personal fields are restricted.",
    style=Style(color="#8c510a", fill_color="#dfc27d", radius=3, fill_opacity=0.6),
    label_field=None,
    fields=(
        FieldSpec("miner_id", required=True, aliases=("id",), description="unique register entry"),
        FieldSpec("site_id", description="the mining site the miner works at"),
        FieldSpec("certificate_no", restricted=True, aliases=("certificate",),
                  description="artisanal miner's certificate number (identifies a person)"),
        FieldSpec("registered_on", "date", description="date entered in the register"),
        FieldSpec("sex", restricted=True, allowed=SEX, description="sex of the miner"),
        FieldSpec("age_band", restricted=True, allowed=AGE_BANDS, description="age band of the miner"),
        FieldSpec("activity", allowed=("digging", "processing", "amalgamation", "trading", "mixed", "unknown"),
                  description="main work"),
    ),
)

CATALOGUE: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (MINING_SITES, WATER_BODIES, RESIDENTIAL_AREAS, TAILINGS, DEPOSITS, SAMPLES,
                 ADMIN_AREAS, ZONES, RECEPTORS, LICENCES, FACILITIES, MERCURY_TRADE, MINERS)
}


def spec_for(layer: str) -> LayerSpec:
    """The spec of layer type ``layer``; raises KeyError naming the known types."""
    try:
        return CATALOGUE[layer]
    except KeyError:
        raise KeyError(
            f"unknown layer type {layer!r}; expected one of {sorted(CATALOGUE)}"
        ) from None


# ---------------------------------------------------------------- names that mean a person
#: Words naming a person a record is about or who made it; a column whose name holds one is
#: restricted on EVERY layer, whatever else its name says (``informant_name``, ``collectorID``).
PERSON_WORDS = ("informant", "inspector", "collector", "participant", "enumerator", "interviewer",
                "interviewee", "respondent", "surveyor", "owner", "person", "household")
#: Person words long enough to be recognised when a Shapefile cut them ('informan', 'particip').
CUT_PERSON_WORDS = PERSON_WORDS[:8]
#: Words naming a way to reach or identify someone; restricted on every layer too.
CONTACT_WORDS = ("contact", "phone", "mobile", "email", "whatsapp", "address", "username",
                 "deviceid", "imei", "simserial", "subscriberid", "passport", "nationalid")
#: Prefixes survey tools put before a field name: KoBo/ODK groups ``interview/``,
#: ``group_1/``, ``grp-``, ``meta-``. Everything up to the last '/' or ':' goes too.
GROUP_PREFIX = re.compile(r"^(?:(?:grp|group|grp_?\d+|group_?\d+|meta|section_?[a-z0-9]?|g\d+)_)+")
SHAPEFILE_WIDTH = 10  # a DBF field name holds at most 10 characters
_TRUNCATED_MIN = 5  # a cut-off person word must keep at least this many letters ('infor')


def name_key(name: object) -> str:
    """A column name normalised for matching: group prefixes dropped, camelCase split, lower
    case, every run of spaces, dashes, dots and other signs made one '_'.

    ``'interview/InformantName'``, ``'grp-informant-name'``, ``'Informant Name'`` and
    ``'informant.name'`` all give ``'informant_name'``.
    """
    text = re.split(r"[/:]", str(name).strip())[-1]
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", text)
    key = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return GROUP_PREFIX.sub("", key) or key


def is_person_name(name: object) -> bool:
    """True when column ``name`` looks like it holds a person or a way to reach one.

    Matched on the letters of the name in any spelling (``'meta/inspectorName'``,
    ``'COLLECTOR-ID'``, ``'Participant Id'``), and on Shapefile cuts to 10 characters with
    their numbered duplicates (``'informant_'``, ``'informan_1'``, ``'grp-inform'``).
    """
    raw = str(name)
    letters = re.sub(r"[^a-z0-9]", "", raw.lower())
    if any(word in letters for word in (*PERSON_WORDS, *CONTACT_WORDS)):
        return True
    if len(raw.strip()) > SHAPEFILE_WIDTH:
        return False
    stem = re.sub(r"[^a-z]", "", re.sub(r"_\d+$", "", raw.strip().lower()))
    return any(stem.endswith(word[:n]) for word in CUT_PERSON_WORDS
               for n in range(_TRUNCATED_MIN, len(word) + 1))


def is_restricted_name(name: object) -> bool:
    """True when column ``name`` may never leave under partner or public, on any layer: a
    person-like name (``is_person_name``) or any spelling of a field the catalogue restricts."""
    if is_person_name(name):
        return True
    key = name_key(name)
    return any(key == name_key(r) for spec in CATALOGUE.values() for r in spec.restricted_fields)
