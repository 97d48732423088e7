"""Registers page: licences (and those that expire soon), facilities, miners, mercury trade
records, and active sites without a valid licence per admin unit. Wiring only: the tables come
from ``services.registers`` over the layers the signed-in role may read (``HgWatch.frames``); a
role that does not see people gets the miners as counts, and the trade records only show for a
role that may read that layer.
"""
from __future__ import annotations

from datetime import date

import streamlit as st

from services.registers import EXPIRY_DAYS, people_for, registers
from ui import sidebar as chrome

st.title("Registers")
svc = chrome.service()
day = st.date_input("Licences judged on", value=date.today(), key="reg_day",
                    help=f"valid on this day; 'expiring' lists those ending within {EXPIRY_DAYS} days of it")
if not isinstance(day, date):  # the input was cleared
    st.stop()
regs = registers(svc.frames(), today=day, people=people_for(svc.identity))

st.subheader("Licences")
if not len(regs.licences):
    st.info("The workspace holds no licences layer.")
else:
    st.markdown(f"**{len(regs.expiring)}** valid licence(s) end within {EXPIRY_DAYS} days of {day:%Y-%m-%d}.")
    st.dataframe(regs.expiring, hide_index=True, key="reg_expiring")
    st.dataframe(regs.licences, hide_index=True, key="reg_licences")

st.subheader("Active sites without a valid licence, per admin unit")
st.caption("A site counts when the licences valid on the day above do not wholly cover it (geodesic edges, "
           "boundary inside). The SITE-OUTSIDE-LICENCE rule judges each site on its own survey date.")
st.dataframe(regs.unlicensed, hide_index=True, key="reg_unlicensed")

st.subheader("Facilities")
st.dataframe(regs.facilities, hide_index=True, key="reg_facilities")

st.subheader("Miners")
st.markdown(f"**{int(regs.miner_counts['miners'].sum()) if len(regs.miner_counts) else 0}** miner(s) registered.")
st.dataframe(regs.miner_counts, hide_index=True, key="reg_miner_counts")
if regs.miners is not None:
    st.dataframe(regs.miners, hide_index=True, key="reg_miners")
else:
    st.caption("Your role sees the miners' register as counts only.")

if regs.trade is not None:
    st.subheader("Mercury trade records (restricted)")
    st.caption("Traders, transactions, seizures, routes and entry points: only analysts and admins see them.")
    st.dataframe(regs.trade, hide_index=True, key="reg_trade")
