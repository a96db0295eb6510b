"""The Excel workbook a QA supervisor opens every morning (xlsxwriter).

Sheets, Chinese by default and English with ``lang="en"``:

========  ===========  ==============================================================
zh        en           content
========  ===========  ==============================================================
概览      Summary      inputs, period, rows, rules version, findings per rule, agents
                       most in need of coaching, charts
客服评分  Agents       one row per agent, worst first: score, metrics, findings per rule,
                       credits for good practice per credit (count, per 100 sessions)
违规明细  Findings     one row per finding, matched fragment red and bold in the message,
                       empty Review (drop-down) and Comment columns for the trainer
亮点      Highlights   one row per credit for good practice (qa.credits), the credited
                       fragment marked in the message, the customer message it answered
会话      Sessions     one row per session, worst first
对话记录  Transcripts  the flagged sessions in full, worst first, flagged lines marked
规则      Rules        every rule with its parameters, points and veto; skipped rules
异常行    Rejected     every rejected input row
趋势      Trends       with a history (``trends``), after Agents: each agent's score and
                       each rule's findings per 100 sessions over the last runs, line charts
qa_data   qa_data      very hidden: the data ``qa review`` rescores from (:mod:`qa.review`)
========  ===========  ==============================================================

The Findings sheet's last column is the stable finding id (编号 / ID) that keys the trainer's
verdicts; the Rules sheet lists findings suppressed by ``--suppress`` files.
:func:`write_review_workbook` writes the workbook of ``qa review`` (复核结果 / Review, Agents,
Findings, Sessions with scores before and after review, Trends).

Safety: chat text never becomes a formula or a link. Every text cell is written with
``write_string`` (never ``write``) and the workbook is opened with ``strings_to_formulas``,
``strings_to_urls`` and ``strings_to_numbers`` off. Personal data is masked (:mod:`qa.mask`)
unless ``mask=False``. The file is written to a temporary name and renamed.

Speed: detail sheets are bounded (:data:`MAX_DETAIL_ROWS`, transcripts by
:data:`MAX_TRANSCRIPT_SESSIONS` / :data:`MAX_TRANSCRIPT_LINES`); their columns are
prepared with pandas and their rows' XML built in one loop (:class:`Cells`,
:class:`BulkSheet`), about ten times faster than xlsxwriter's per-cell calls; if
xlsxwriter's internals ever change, the same columns go through its public API.
"""

