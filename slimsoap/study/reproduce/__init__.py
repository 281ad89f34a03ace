"""``slimsoap reproduce``: regenerate the paper's figures and tables, each claim checked.

One module per figure or table (``table1``, ``fig2``, ``fig4``, ``fig5_6``, ``fig7``,
``fig8``, ``fig9``, ``fig10``, and the supplementary ``fig_s1``), each
``run(ctx) -> Section``; :mod:`.runner` runs those selected, with caching, and
:mod:`.report` writes ``report.html`` and ``report.json``.
"""

#: The sections, in the paper's order; each is the module ``slimsoap.study.reproduce.<key>``.
SECTION_KEYS = ("table1", "fig2", "fig4", "fig5_6", "fig7", "fig8", "fig9", "fig10", "fig_s1")
