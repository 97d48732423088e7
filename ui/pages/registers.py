"""Registers page: licences (and those that expire soon), facilities, miners, mercury trade
records, and active sites without a valid licence and licences per admin unit, with their
choropleth (the unit that contains them at a chosen level; the free-text area as the fallback).
Wiring only: the tables come
from ``services.registers`` over the layers the signed-in role may read (``HgWatch.frames``); a
role that does not see people gets the miners as counts, and the trade records only show for a
role that may read that layer.
"""
from __future__ import annotations

from datetime import date

import streamlit as st
from streamlit_folium import st_folium

from geo.errors import HgWatchError
from geo.words import counted
from services.areas import AREA_LAYER
from services.registers import EXPIRY_DAYS, MEASURES, service_registers, unit_map
from services.rollups import default_level, unit_levels
from ui import sidebar as chrome

st.title("Registers")
svc = chrome.service()
day = st.date_input("Licences judged on", value=date.today(), key="reg_day",
                    help=f"valid on this day; 'expiring' lists those ending within {EXPIRY_DAYS} days of it")
if not isinstance(day, date):  # the input was cleared
    st.stop()
levels = unit_levels(svc.frames().get(AREA_LAYER))
level = st.selectbox("Admin level of the per-unit table", levels, key="reg_unit_level",
                     index=levels.index(default_level(levels) or levels[0])) if levels else None
try:
    regs = service_registers(svc, today=day, level=level)
except HgWatchError as exc:
    st.error(chrome.plain(exc))
    st.stop()

st.subheader("Licences")
if not len(regs.licences):
    st.info("The workspace holds no licences layer.")
else:
    st.markdown(f"Valid licences ending within {EXPIRY_DAYS} days of {day:%Y-%m-%d}: **{len(regs.expiring):,}**.")
    st.dataframe(regs.expiring, hide_index=True, column_config=chrome.day_columns(regs.expiring), key="reg_expiring")
    st.dataframe(regs.licences, hide_index=True, column_config=chrome.day_columns(regs.licences), key="reg_licences")

st.subheader("Active sites without a valid licence, and licences, per admin unit")
st.caption("A site counts when the licences valid on the day above do not wholly cover it (geodesic edges, "
           "boundary inside). The SITE-OUTSIDE-LICENCE rule judges each site on its own survey date. "
           f"Units by {regs.units.basis}: " + chrome.plain(regs.units.note))
if not len(regs.licences):  # every active site counted "without a valid licence" when there is no licence to judge by
    st.info("With no licences layer no site can be judged against a licence, so none is counted here (the"
            f" SITE-OUTSIDE-LICENCE rule does not run either). {chrome.import_on_page(svc, 'the licences')} to count"
            " the active sites without a valid one.")
else:
    st.dataframe(regs.units.table, hide_index=True, key="reg_unlicensed")
if len(regs.licences) and regs.units.shapes is not None:
    measure = st.radio("Colour the units by", list(MEASURES), format_func=lambda k: MEASURES[k][0], horizontal=True,
                       key="reg_unit_measure")
    licence_fmap = unit_map(regs.units, measure)
    if licence_fmap is not None:
        st_folium(licence_fmap, height=440, use_container_width=True, returned_objects=[], key="reg_unit_map")

st.subheader("Facilities")
if not len(regs.facilities):  # an empty table with no header said nothing
    st.info("No facility is recorded. " + chrome.import_on_page(svc, "a facilities layer (amalgamation centres,"
                                                                 " processing plants, mercury storage, gold buyers)") + ".")
else:
    st.dataframe(regs.facilities, hide_index=True, column_config=chrome.day_columns(regs.facilities),
                 key="reg_facilities")

st.subheader("Miners")
if not len(regs.miner_counts) and (regs.miners is None or not len(regs.miners)):  # two empty tables said nothing
    st.info("No miner is registered. " + chrome.import_on_page(svc, "a miners register (a CSV or XLSX, with or"
                                                                " without coordinates)") + ".")
else:
    st.markdown(f"**{counted(int(regs.miner_counts['miners'].sum()) if len(regs.miner_counts) else 0, 'miner')}**"
                " registered.")
    st.dataframe(regs.miner_counts, hide_index=True, key="reg_miner_counts")
    if regs.miners is not None:
        st.dataframe(regs.miners, hide_index=True, column_config=chrome.day_columns(regs.miners), key="reg_miners")
    else:
        st.caption("Your role sees the miners' register without its personal fields: counts per site here; the map"
                   " and the partner API carry each entry's id, site, registration date, activity and location,"
                   " never its certificate, sex or age band.")

if regs.trade is not None:
    st.subheader("Mercury trade records (restricted)")
    st.caption("Traders, transactions, seizures, routes and entry points: only analysts and admins see them.")
    st.dataframe(regs.trade, hide_index=True, column_config=chrome.day_columns(regs.trade), key="reg_trade")
