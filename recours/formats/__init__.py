"""Date formats of our two languages (settings.FORMAT_MODULE_PATH).

Django's own English reads "Nov. 23, 2026, 7:11 p.m." and its French spells
the month out: both are long in a table. We write "23 Nov 2026, 19:11" and
"23 nov. 2026, 19:11", day first and on a 24-hour clock, in both languages.
"""
