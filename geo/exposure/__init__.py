"""Exposure: the river network, what lies downstream of a source, mercury pressure, and gaps.

``build_network`` turns water lines into a ``RiverNetwork`` that follows the flow;
``mercury_sources`` picks the sites that use mercury (the one definition, ``geo.sites``) and the
tailings, and ``trace_downstream`` gives each source's downstream ``Reach`` and the people living
along it (``find_entry``, ``downstream_reach`` and ``people_downstream`` are its steps);
``receptors_downstream`` lists receptors such as drinking-water intakes on the reaches the same way.
``pressure_surface`` spreads estimated mercury use with a Gaussian kernel into a ``Pressure``
grid (an estimate, not a measurement), and ``monitoring_gaps`` / ``reach_gaps`` rank the sites and
reaches with no recent sample nearby.
"""
from geo.exposure.gaps import monitoring_gaps, reach_gaps
from geo.exposure.network import RiverNetwork, build_network
from geo.exposure.pressure import Pressure, pressure_surface
from geo.exposure.reach import (
    RECEPTOR_COLUMNS,
    Reach,
    downstream_reach,
    find_entry,
    mercury_sources,
    people_downstream,
    receptors_downstream,
    trace_downstream,
)

__all__ = ["RECEPTOR_COLUMNS", "Pressure", "Reach", "RiverNetwork", "build_network", "downstream_reach", "find_entry",
           "mercury_sources", "monitoring_gaps", "people_downstream", "pressure_surface",
           "reach_gaps", "receptors_downstream", "trace_downstream"]
