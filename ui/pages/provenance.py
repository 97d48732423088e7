"""Provenance and accuracy of every layer: source, date, licence, expected error in metres."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from layers.catalogue import CATALOGUE
from services.checks import rule_worth
from services.worth import layer_errors
from ui import sidebar as chrome

view = chrome.current()
st.title("Provenance & accuracy")
st.write("Where each layer comes from and how far its positions may be off. A violation is "
         "only as good as the coarser of the two layers it compares: the distances are "
         "computed exactly on the WGS84 ellipsoid, so the error is in the data.")
if not view.infos:
    st.warning("The workspace holds no layers yet.")
rows = [{"layer": CATALOGUE[i.layer].title if i.layer in CATALOGUE else i.layer,
         "features": i.rows, "source": i.source, "licence": i.licence,
         "imported": i.imported_at, "expected error (m)": i.accuracy_m,
         "accuracy note": i.accuracy_note, "synthetic": i.synthetic} for i in view.infos]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
             column_config={"expected error (m)": st.column_config.NumberColumn(format="%.0f")})
if any(i.synthetic for i in view.infos):
    st.warning("Layers marked synthetic are demo data made by scripts/build_demo.py. They show "
               "how the product works and say nothing about any real site.")
errors = layer_errors(view.infos)
worth = [{"rule": r.id, "distance (m)": r.distance_m, "what a flag is worth": rule_worth(r, errors)}
         for r in view.service.settings.rules.rules
         if r.relation != "attribute" and all(lay in errors for lay in r.layers)]
if worth:
    st.subheader("What each rule's flags are worth on these layers")
    st.write("The error of the two layers a rule compares adds up. When it is unknown, or not small "
             "against the rule's distance, a flag is a lead for a field visit, not proof, and sites "
             "near the line may be missed.")
    st.dataframe(pd.DataFrame(worth), hide_index=True, width="stretch")
st.subheader("What the error figures mean")
st.markdown(
    "- **Rivers and lakes from GSHHG** (WDBII) are small-scale: good to **hundreds of metres** "
    "(sometimes kilometres). A 100 m buffer check on GSHHG water is a pointer for a field "
    "visit, never field truth; a real check needs local survey-grade water lines.\n"
    "- A river drawn as a **centre line** sits half the river's width from its bank; when "
    "`width_m` is given, distances are measured to the bank.\n"
    "- **Handheld GPS** positions of sites are good to a few metres.\n"
    "- **OpenStreetMap** and Natural Earth water and places are good to tens or hundreds of "
    "metres.\n"
    "- **Satellite-detected mining footprints** show where mining is, not whether mercury is "
    "used; mercury attributes come from field surveys.\n"
    "- An empty 'expected error' means the source gave none; ask who collected the data.")
